"""Plots of a fit: light curve with model and residuals per dataset, caustics with the source track, corner plot."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .models import ModelSpec, model_magnification

__all__ = ["plot_fit", "spec_theta_from_row"]


def spec_theta_from_row(row) -> tuple[ModelSpec, np.ndarray]:
    """The model and fit coordinates of a solution row (its MAP values)."""
    effects = (row.get("higher_order_effects") or "").split(",")
    spec = ModelSpec(row["model_type"], finite_source="finite-source" in effects, parallax="parallax" in effects,
                     method="auto")
    theta = []
    for name in spec.names:
        p = name[4:] if name.startswith("log_") else name
        v = row[f"{p}_map"]
        theta.append(np.log(v) if name.startswith("log_") else v)
    return spec, np.array(theta, float)


@lru_cache(maxsize=None)
def _compiled(spec: ModelSpec):
    return jax.jit(lambda theta, t: model_magnification(spec, theta, t))


PLOT_CHUNK = 4096  # epochs per compiled model call in the plots


def _magnification(spec: ModelSpec, theta, t) -> np.ndarray:
    """``A(t)`` of the model, jitted, in padded chunks of ``PLOT_CHUNK`` epochs: each model compiles once
    (called op by op, the plots of three demo events compiled 235 XLA programs: 41 of their 56 s)."""
    t = np.asarray(t, float)
    if t.size == 0:
        return np.zeros(0)
    padded = np.full(PLOT_CHUNK * int(np.ceil(t.size / PLOT_CHUNK)), t[-1])
    padded[:t.size] = t
    theta = jnp.asarray(theta, float)
    parts = [np.asarray(_compiled(spec)(theta, jnp.asarray(padded[i:i + PLOT_CHUNK])))
             for i in range(0, padded.size, PLOT_CHUNK)]
    return np.concatenate(parts)[:t.size]


def _anomaly_window(spec, theta, lo, hi):
    """Times where the lens model departs most from the single lens with the same (t0, tE, u0), padded."""
    grid = np.linspace(lo, hi, 16384)
    a = _magnification(spec, theta, grid)
    single = _magnification(ModelSpec("1L1S"), theta[:3], grid)
    dev = np.abs(a - single) / single
    if not np.isfinite(dev).all() or dev.max() < 1e-3:
        return None
    k = int(np.argmax(dev))
    big = np.flatnonzero(dev > 0.2 * dev[k])
    # the contiguous run of large deviations around the peak deviation
    runs = np.split(big, np.flatnonzero(np.diff(big) > 1) + 1)
    run = next(r for r in runs if r[0] <= k <= r[-1])
    a_lo, a_hi = grid[run[0]], grid[run[-1]]
    pad = max(0.5 * (a_hi - a_lo), 0.3)
    a_lo, a_hi = max(lo, a_lo - pad), min(hi, a_hi + pad)
    return None if a_hi - a_lo > 0.5 * (hi - lo) else (a_lo, a_hi)


def plot_fit(datasets, solutions, posterior, out_dir, *, max_corner: int = 6) -> list[Path]:
    """Write ``lightcurve.png``, ``caustics.png`` (binary/triple) and ``corner.png`` for the best solution."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import microjax_core as mc

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = solutions.to_pylist()
    best = next((r for r in rows if r["is_best"]), None)
    if best is None:
        return []
    written = []
    spec, theta = spec_theta_from_row(best)
    spec = ModelSpec(spec.model_type, spec.finite_source, False, spec.method)  # plotted without parallax offsets
    fluxes = json.loads(best["fluxes_json"] or "{}")
    t_all = np.concatenate([d.t for d in datasets])
    t0 = best["t0_map"]
    te = best["tE_map"]
    lo, hi = max(t_all.min(), t0 - 3 * te), min(t_all.max(), t0 + 3 * te)
    zoom = _anomaly_window(spec, theta, lo, hi) if spec.model_type != "1L1S" else None
    if zoom is None:
        fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        panels = [(axes[0], axes[1], lo, hi)]
    else:
        fig, axes = plt.subplots(2, 2, figsize=(13, 6), sharex="col",
                                 gridspec_kw={"height_ratios": [3, 1], "width_ratios": [2, 1]})
        panels = [(axes[0, 0], axes[1, 0], lo, hi), (axes[0, 1], axes[1, 1], *zoom)]
    single = ModelSpec("1L1S")
    for k, (top, bottom, a_lo, a_hi) in enumerate(panels):
        grid = np.linspace(a_lo, a_hi, 4096)
        a_grid = _magnification(spec, theta, grid)
        for d in datasets:
            fs, fb = fluxes.get(d.name, [np.nan, np.nan])[:2]
            sel = (d.t >= a_lo) & (d.t <= a_hi)
            # plot in magnification units of the source: (F - fb)/fs
            top.errorbar(d.t[sel] - 2450000, (d.flux[sel] - fb) / fs, d.flux_err[sel] / abs(fs), fmt=".", ms=2,
                         alpha=0.5, label=d.name)
            if k == 0:  # residuals from the model
                a = _magnification(spec, theta, d.t[sel])
                bottom.errorbar(d.t[sel] - 2450000, (d.flux[sel] - (fs * a + fb)) / abs(fs),
                                d.flux_err[sel] / abs(fs), fmt=".", ms=2, alpha=0.5)
            elif sel.sum() >= 10:  # the anomaly itself: binned data minus the single lens of the same (t0, tE, u0)
                a1 = _magnification(single, theta[:3], d.t[sel])
                r, w = (d.flux[sel] - fb) / fs - a1, (fs / d.flux_err[sel]) ** 2
                idx = np.clip(np.digitize(d.t[sel], np.linspace(a_lo, a_hi, 41)) - 1, 0, 39)
                sw = np.bincount(idx, w, 40)
                ok = sw > 0
                mean = np.bincount(idx, w * r, 40)[ok] / sw[ok]
                centre = np.bincount(idx, w * d.t[sel], 40)[ok] / sw[ok]
                bottom.errorbar(centre - 2450000, mean, 1 / np.sqrt(sw[ok]), fmt="o", ms=3, color="C0")
        top.plot(grid - 2450000, a_grid, "k-", lw=1, label=f"{best['mode_label']} (MAP)")
        bottom.axhline(0, color="k", lw=0.8)
        bottom.set_xlabel("BJD - 2450000")
        bottom.xaxis.set_major_locator(plt.MaxNLocator(5 if k == 0 else 3))
        if k == 1:
            s_grid = _magnification(single, theta[:3], grid)
            bottom.plot(grid - 2450000, a_grid - s_grid, "C3-", lw=1, label="binary - single lens")
            bottom.set_ylabel("data - single lens", fontsize=8)
            bottom.legend(fontsize=7)
            bottom.ticklabel_format(axis="x", useOffset=False)
        if k == 0:
            top.set_ylabel("magnification (F - fb)/fs")
            top.legend(fontsize=8)
            top.set_title(f"event {best['event_id']}: {best['mode_label']}, chi2 = {best['chi2']:.1f} "
                          f"/ {best['n_data_points']} points")
            bottom.set_ylabel("residual")
            if zoom is not None:
                top.axvspan(zoom[0] - 2450000, zoom[1] - 2450000, color="C1", alpha=0.15)
        else:
            top.set_title("anomaly (zoom)")
    fig.tight_layout()
    fig.savefig(out_dir / "lightcurve.png", dpi=110)
    plt.close(fig)
    written.append(out_dir / "lightcurve.png")
    if spec.model_type != "1L1S":
        p = {k: best[f"{k}_map"] for k in ("s", "q", "s13", "q3", "psi")}
        lens = mc.BinaryLens(p["s"], p["q"]) if spec.model_type == "2L1S" else mc.TripleLens(*p.values())
        _, caustics = mc.critical_curves_and_caustics(lens, n_points=2000)
        c = np.asarray(caustics).ravel()
        w = np.asarray(mc.source_trajectory(jnp.asarray(grid), t0, te, best["u0_map"], best["alpha_map"]))
        fig, ax = plt.subplots(figsize=(5.5, 5.5))
        ax.plot(c.real, c.imag, ".", ms=1, color="C3", label="caustics")
        ax.plot(w.real, w.imag, "k-", lw=1, label="source track")
        if best.get("rho_map") and np.isfinite(best["rho_map"]):
            k = np.argmin(np.abs(grid - t0))
            ax.add_patch(plt.Circle((w[k].real, w[k].imag), best["rho_map"], color="C0", alpha=0.5))
        span = max(1.5, 1.2 * np.abs(c).max())
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
        ax.set_aspect("equal")
        ax.set_xlabel("x [theta_E]")
        ax.set_ylabel("y [theta_E]")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / "caustics.png", dpi=110)
        plt.close(fig)
        written.append(out_dir / "caustics.png")
    if posterior is not None and posterior.num_rows:
        draws = posterior.to_pandas()
        draws = draws[draws.solution_id == best["solution_id"]]
        names = [n for n in ("t0", "tE", "u0", "rho", "alpha", "s", "q", "piEN", "piEE")
                 if n in draws and np.isfinite(draws[n]).all()][:max_corner]
        if names and len(draws):
            k = len(names)
            fig, axes = plt.subplots(k, k, figsize=(2 * k, 2 * k), squeeze=False)
            for i, a in enumerate(names):
                for j, b in enumerate(names):
                    ax = axes[i, j]
                    if j > i:
                        ax.axis("off")
                    elif i == j:
                        ax.hist(draws[a], bins=30, color="C0", histtype="step")
                    else:
                        ax.plot(draws[b], draws[a], ".", ms=1, alpha=0.3)
                    if i == k - 1:
                        ax.set_xlabel(b, fontsize=8)
                    if j == 0 and i > 0:
                        ax.set_ylabel(a, fontsize=8)
                    ax.tick_params(labelsize=6)
            fig.tight_layout()
            fig.savefig(out_dir / "corner.png", dpi=100)
            plt.close(fig)
            written.append(out_dir / "corner.png")
    return written
