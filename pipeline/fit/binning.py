"""Time binning of well-sampled, slowly varying stretches of a light curve (for the costly 2L1S stages).

A bin of consecutive points is replaced by its inverse-variance weighted mean time and
flux with error ``(sum w)^-1/2`` — the same chi^2 up to a model-independent constant
and the model's curvature across the bin. Widths follow the point-lens fit:
``width = fraction * tE * u(t)`` (short near the peak, where ``A`` changes fast),
capped at ``max_days`` (``anomaly_days`` inside the anomaly intervals), and a bin only
grows while the next flux agrees with the bin's mean within ``n_sigma`` errors, so
sharp features (caustic crossings of a few cadences) stay unbinned.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .photometry import Dataset

__all__ = ["bin_dataset", "anomaly_intervals"]


def anomaly_intervals(t, r, *, width=0.25, z_min=3.0, pad=0.5):
    """Intervals ``[(lo, hi), ...]`` whose windows of ``width`` days have residual chi^2 excess ``z > z_min``."""
    order = np.argsort(t)
    t, r2 = t[order], r[order] ** 2
    c = np.r_[0.0, np.cumsum(r2)]
    hi = np.searchsorted(t, t + width)
    n = np.maximum(hi - np.arange(t.size), 1)
    z = (c[hi] - c[:-1] - n) / np.sqrt(2.0 * n)
    out = []
    for k in np.flatnonzero(z > z_min):
        lo_t, hi_t = t[k] - pad, t[min(hi[k], t.size) - 1] + pad
        if out and lo_t <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi_t))
        else:
            out.append((lo_t, hi_t))
    return out


def bin_dataset(d: Dataset, t0: float, tE: float, u0: float, *, keep=(), fraction: float = 0.03,
                max_days: float = 0.5, anomaly_days: float = 0.1, n_sigma: float = 2.0) -> Dataset:
    """Bin ``d`` with widths ``fraction * tE * u(t)`` (<= ``max_days``; <= ``anomaly_days`` inside ``keep``)."""
    inside = np.zeros(len(d), bool)
    for lo, hi in keep:
        inside |= (d.t >= lo) & (d.t <= hi)
    u = np.hypot((d.t - t0) / tE, u0)
    width = np.minimum(fraction * tE * u, np.where(inside, anomaly_days, max_days))
    w = 1.0 / d.flux_err**2
    tt, ff, ee = [], [], []
    i, n = 0, len(d)
    while i < n:
        j = i + 1
        sw, swf = w[i], w[i] * d.flux[i]
        while j < n and d.t[j] - d.t[i] < width[i] and \
                abs(d.flux[j] - swf / sw) <= n_sigma * np.hypot(d.flux_err[j], sw**-0.5):
            sw, swf = sw + w[j], swf + w[j] * d.flux[j]
            j += 1
        sw = w[i:j].sum()
        tt.append((w[i:j] * d.t[i:j]).sum() / sw)
        ff.append((w[i:j] * d.flux[i:j]).sum() / sw)
        ee.append(sw**-0.5)
        i = j
    return replace(d, t=np.array(tt), flux=np.array(ff), flux_err=np.array(ee), extra=dict(d.extra, binned_from=len(d)))
