"""Stage 3 of the staged fit: binary and triple modes, and their parallax refits (DESIGN.md §5.2).

``binary_modes``: a grid of 2L1S starts seeded by the anomaly (``search.binary_seeds``),
ranked on thinned data (``objective.ranked_chi2``: all starts on a quarter of it, the best
tenth on all), the best distinct ones optimised, close/wide partners added, optionally
refined with a finite source. ``triple_modes``: a third body seeded from the best binary's
residual anomaly (``search.triple_seeds``). ``with_parallax``: every mode refitted with
annual parallax on both sides of the lens axis. ``config``: a ``staged.FitConfig``.
"""
from __future__ import annotations

import logging
import time

import numpy as np

from .models import ModelSpec
from .objective import FitData, batched_chi2_finite_source, ranked_chi2
from .search import N_GENERIC_SEEDS, Mode, anomaly, binary_seeds, optimise, triple_seeds

__all__ = ["binary_modes", "triple_modes", "with_parallax"]

log = logging.getLogger(__name__)


def _mirror(theta, spec) -> np.ndarray:
    """The mirror image about the lens axis, ``(u0, alpha[, psi]) -> (-u0, -alpha[, -psi])``: the same ``A(t)``
    without parallax (``with_parallax``)."""
    out = np.array(theta, float)
    for name in ("u0", "alpha", "psi"):
        if name in spec.names:
            out[spec.names.index(name)] *= -1.0
    return out


def _close(a, b, idx) -> bool:
    """Within 0.05 of the first coordinate (ln s), 0.3 of the second (ln q) and 0.2 rad of the third (an angle)."""
    da = np.angle(np.exp(1j * (a[idx[2]] - b[idx[2]])))
    return abs(a[idx[0]] - b[idx[0]]) < 0.05 and abs(a[idx[1]] - b[idx[1]]) < 0.3 and abs(da) < 0.2


def _distinct(theta, kept, spec, names=("log_s", "log_q", "alpha")):
    """``theta`` differs from every row of ``kept`` by > 0.05 in ln s, 0.3 in ln q or 0.2 rad in the angle, and,
    without parallax, so does its mirror image (``_mirror``) wherever that has the row's ``u0`` to within half
    its size: a mode and its mirror are one solution, whose probability a second row would halve."""
    idx = [spec.names.index(n) for n in names]
    mirror = None if spec.parallax else _mirror(theta, spec)
    i_u = spec.names.index("u0")
    for k in kept:
        if _close(theta, k, idx):
            return False
        if mirror is not None and _close(mirror, k, idx) and \
                abs(mirror[i_u] - k[i_u]) <= 0.5 * max(abs(mirror[i_u]), abs(k[i_u])) + 1e-3:
            return False
    return True


def binary_modes(seed_modes, data: FitData, search: FitData, t_anomaly: float, config) -> list[Mode]:
    """2L1S modes (best first, at most ``config.max_modes``) from starts seeded by each of ``seed_modes``."""
    spec = ModelSpec("2L1S", parallax=False, method="point")
    blocks = [binary_seeds(m, t_anomaly) for m in seed_modes]
    seeds = np.concatenate(blocks)
    seeded = np.concatenate([np.arange(len(b)) < len(b) - N_GENERIC_SEEDS for b in blocks])  # by the anomaly
    chi = ranked_chi2(spec, seeds, search)  # ranking scores: the best tenth's chi^2 on all of search
    order = np.argsort(np.where(np.isfinite(chi), chi, np.inf))
    starts = []
    for i in order:
        if len(starts) >= config.n_starts:
            break
        if np.isfinite(chi[i]) and _distinct(seeds[i], starts, spec):
            starts.append(seeds[i])
    # optimise every start on the thinned search data, polish the best on the fit data
    rough = sorted((optimise(spec, s, search, maxiter=150) for s in starts), key=lambda m: m.chi2)
    modes = [optimise(spec, m.theta, data, maxiter=200) for m in rough[: config.max_modes + 1]]
    modes.sort(key=lambda m: m.chi2)
    partners = []
    i_s = spec.names.index("log_s")
    for m in modes[:2]:  # the close/wide partner of the best modes (s <-> 1/s)
        th = m.theta.copy()
        th[i_s] = -th[i_s]
        partners.append(optimise(spec, th, data, maxiter=200))
    kept = []
    for m in sorted(modes + partners, key=lambda m: m.chi2):
        if m.chi2 - (kept[0].chi2 if kept else m.chi2) > config.delta_chi2_window or len(kept) >= config.max_modes:
            break
        if _distinct(m.theta, [k.theta for k in kept], spec):
            kept.append(m)
    for m in kept:
        m.label = f"2L1S-{'wide' if m.value('log_s') > 0 else 'close'}"
    if config.finite_source_2l1s:
        kept = _finite_source_modes(kept, seeds, seeded, chi, data, search, config)
    return kept


def _polish(spec, theta, data) -> Mode:
    """Nelder-Mead, L-BFGS-B, Nelder-Mead again: a caustic crossing's chi^2 valley is narrow and
    curved (at Roman's precision, 1e-4 rad in alpha), and ICRS's derivative is only piecewise
    consistent with its value near cusps, so the gradient step stalls where the simplex does
    not (measured, planetary crossing of ``benchmarks/bench_recovery.py``: chi^2 45,741 ->
    18,285 -> 1,833, the truth's 1,840)."""
    m = optimise(spec, theta, data, gradient=False, maxiter=400)
    m = min(m, optimise(spec, m.theta, data, maxiter=100), key=lambda x: x.chi2)
    return min(m, optimise(spec, m.theta, data, gradient=False, maxiter=1500), key=lambda x: x.chi2)


_POINT_2L1S = ModelSpec("2L1S", method="point")  # the finite-source rows without log_rho (index 3) have its names


def _best_distinct(rows, chi, limit) -> list:
    """Up to ``limit`` finite-source ``rows`` in order of ``chi`` (finite values only), each distinct in
    (s, q, alpha) from those taken before it (``rho`` ignored)."""
    out = []
    for i in np.argsort(np.where(np.isfinite(chi), chi, np.inf)):
        if len(out) >= limit or not np.isfinite(chi[i]):
            break
        if _distinct(np.delete(rows[i], 3), [np.delete(t, 3) for t in out], _POINT_2L1S):
            out.append(rows[i])
    return out


# local grid about a finite-source start: alpha (rad), ln s, ln q, rho
_LOCAL = [(da, ds, dq, rho) for da in (-0.06, -0.03, 0.0, 0.03, 0.06) for ds in (-0.02, 0.0, 0.02)
          for dq in (-0.35, 0.0, 0.35) for rho in (1e-3, 3e-3)]


def _finite_source_modes(point_modes, seeds, seeded, chi_point, data, search, config) -> list[Mode]:
    """2L1S modes with a finite source, searched with a finite source (caustic crossings).

    A point-source 2L1S chi^2 diverges where the track crosses a caustic, so its ranking
    of the seeds is noise there (a planetary crossing's true geometry scored worse than a
    wrong one). Here the anomaly-seeded starts and the best point-source ones are ranked
    with the finite-source chi^2 (``batched_chi2_finite_source``: ICRS only on the points
    near caustics, shared across rows), a local grid in (alpha, s, q, rho) refines the best
    distinct starts, Nelder-Mead moves them on the thinned data and ``_polish`` finishes the
    best on the binned data. The point-source modes are refined too (each with two source
    sizes), everything is ranked together, and the best mode's close/wide partner is added.
    """
    fs_spec = ModelSpec("2L1S", finite_source=True, parallax=False, method="auto")
    generic = np.flatnonzero(~seeded)
    generic = generic[np.argsort(np.where(np.isfinite(chi_point[generic]), chi_point[generic], np.inf))[:128]]
    pool = seeds[np.r_[np.flatnonzero(seeded), generic]]

    def with_rho(x, rho):
        return np.r_[x[:3], np.log(rho), x[3:]]
    rows = np.array([with_rho(x, 1e-3) for x in pool])
    tic = time.perf_counter()
    chi = batched_chi2_finite_source(fs_spec, rows, search)
    log.info("finite-source ranking of %d starts: %.1f s, best chi2 %.1f", len(rows), time.perf_counter() - tic,
             np.nanmin(chi))
    tops = _best_distinct(rows, chi, 4)
    local = np.array([np.r_[t[:3], np.log(rho), t[4] + da, t[5] + ds, t[6] + dq] for t in tops
                      for da, ds, dq, rho in _LOCAL])
    tic = time.perf_counter()
    chi_local = batched_chi2_finite_source(fs_spec, local, search) if len(local) else np.array([])
    log.info("local grid of %d rows: %.1f s, best chi2 %.1f", len(local), time.perf_counter() - tic,
             np.nanmin(chi_local) if len(local) else np.nan)
    starts = _best_distinct(local, chi_local, config.max_modes)
    for m in point_modes:  # the point-source modes, each with a small and a larger source
        u0 = abs(m.value("u0"))
        starts += [with_rho(m.theta, 1e-3), with_rho(m.theta, max(min(0.5 * u0, 0.05), 1e-4))]
    tic = time.perf_counter()
    rough = [optimise(fs_spec, x, search, gradient=False, maxiter=300) for x in starts]
    rough.sort(key=lambda m: m.chi2)
    log.info("Nelder-Mead from %d starts (thinned data): %.1f s, chi2 %s", len(starts), time.perf_counter() - tic,
             [round(m.chi2, 1) for m in rough])
    tic = time.perf_counter()
    modes = [_polish(fs_spec, m.theta, data) for m in rough[: config.max_modes + 1]]
    modes.sort(key=lambda m: m.chi2)
    log.info("polished %d modes (binned data): %.1f s, chi2 %s", len(modes), time.perf_counter() - tic,
             [round(m.chi2, 1) for m in modes])
    i_s = fs_spec.names.index("log_s")
    partners = []
    for m in modes[:1]:  # the close/wide partner of the best mode
        th = m.theta.copy()
        th[i_s] = -th[i_s]
        partners.append(_polish(fs_spec, th, data))
    kept = []
    for m in sorted(modes + partners, key=lambda m: m.chi2):
        if m.chi2 - (kept[0].chi2 if kept else m.chi2) > config.delta_chi2_window or len(kept) >= config.max_modes:
            break
        if _distinct(np.delete(m.theta, 3), [np.delete(k.theta, 3) for k in kept], _POINT_2L1S):
            m.label = f"2L1S-{'wide' if m.value('log_s') > 0 else 'close'}"
            kept.append(m)
    return kept


def triple_modes(binary: Mode, data: FitData, search: FitData, config,
                 rounds: int = 2) -> tuple[list[Mode], Mode]:
    """3L1S modes seeded from a 2L1S mode and the anomaly left in its residuals (``triple_seeds``).

    When the best triple is better described as lens 1 + the third body (the binary search
    had settled on a compromise between two anomalies), that pair refitted as a 2L1S mode
    seeds a second round. Returns ``(triple modes, the best 2L1S mode seen)``.
    """
    spec = ModelSpec("3L1S", method="point")
    t_res = anomaly(binary, data)["t"]
    seeds = triple_seeds(binary, t_res)
    chi = ranked_chi2(spec, seeds, search)  # ranking scores: the best tenth's chi^2 on all of search
    order = np.argsort(np.where(np.isfinite(chi), chi, np.inf))
    starts = []
    third = ("log_s13", "log_q3", "psi")
    idx = [spec.names.index(n) for n in third]
    for i in order:
        if len(starts) >= config.n_starts or not np.isfinite(chi[i]):
            break
        if _distinct(seeds[i], starts, spec, third):
            starts.append(seeds[i])
    rough = sorted((optimise(spec, x, search, maxiter=150) for x in starts), key=lambda m: m.chi2)
    modes = sorted((optimise(spec, m.theta, data, maxiter=300) for m in rough[: config.max_modes + 2]),
                   key=lambda m: m.chi2)
    if rounds > 1 and modes:
        # lens 1 + the third body as a binary (frame rotated by psi; lens 1 taken at the origin)
        b = modes[0].theta
        alt = optimise(binary.spec, np.r_[b[:3], b[3] - b[idx[2]], b[idx[0]], b[idx[1]]], data, maxiter=200)
        if alt.chi2 < binary.chi2 - config.anomaly_delta_chi2:
            alt.label = f"2L1S-{'wide' if alt.value('log_s') > 0 else 'close'}"
            more, binary = triple_modes(alt, data, search, config, rounds - 1)
            modes = sorted(modes + more, key=lambda m: m.chi2)
    kept = []
    for m in modes:
        if m.chi2 - modes[0].chi2 > config.delta_chi2_window or len(kept) >= config.max_modes:
            break
        if all(np.max(np.abs(m.theta[idx[:2]] - k.theta[idx[:2]])) > 0.05 for k in kept):
            m.label = f"3L1S-{'wide' if m.value('log_s13') > 0 else 'close'}"
            kept.append(m)
    return kept, binary


def with_parallax(modes: list[Mode], data: FitData, config) -> list[Mode]:
    """Each binary (or triple) mode refitted with annual parallax from ``piE = 0``, on both sides of the lens axis.

    Without parallax ``(u0, alpha[, psi]) -> (-u0, -alpha[, -psi])`` mirrors the geometry and leaves
    ``A(t)`` unchanged; parallax breaks the symmetry only weakly (the ecliptic degeneracy,
    Skowron et al. 2011), so both are optimised and kept when within ``delta_chi2_window``.
    ``data`` must carry the parallax offsets.
    """
    out = []
    for m in modes:
        spec = ModelSpec(m.spec.model_type, finite_source=m.spec.finite_source, parallax=True, method=m.spec.method)
        for mirrored in (False, True):
            th = np.r_[m.theta, 0.0, 0.0]
            if mirrored:  # piE = 0 stays 0
                th = _mirror(th, spec)
            r = optimise(spec, th, data, maxiter=200, gradient=not spec.finite_source)
            r.label = f"{m.label},u0{'+' if r.value('u0') > 0 else '-'}"
            out.append(r)
    out.sort(key=lambda m: m.chi2)
    kept = [m for m in out if m.chi2 - out[0].chi2 <= config.delta_chi2_window]
    return kept[: max(config.max_modes, 2)]
