"""``microjax-survey demo``: the README's main job.

Until the survey pipeline lands, the demo computes point-source light curves of
a single, a binary (planetary) and a triple lens with ``microjax_core``, prints
a table, times the batched kernel and, if matplotlib is installed, saves a plot
of the caustics with the source track and the light curves.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="demo-output", help="directory for plots (default: demo-output)")
    p.add_argument("--points", type=int, default=2000, help="light-curve points per lens (default 2000)")


def run(args) -> int:
    if args.points < 10:
        raise SystemExit(f"--points must be >= 10, got {args.points}")
    import jax
    import jax.numpy as jnp
    import numpy as np

    import microjax_core as mc

    t0, tE, u0, alpha = 0.0, 20.0, 0.05, np.deg2rad(30.0)
    t = jnp.linspace(-30.0, 30.0, args.points)
    w = mc.source_trajectory(t, t0, tE, u0, alpha)
    lenses = {
        "1L1S": mc.PointLens(),
        "2L1S (s=1.1, q=3e-3)": mc.BinaryLens(1.1, 3e-3),
        "3L1S (planet in binary)": mc.TripleLens(1.0, 0.3, 1.2, 1e-4, 2.2),
    }
    mag = jax.jit(mc.point_source_magnification)
    curves, rows = {}, []
    for name, lens in lenses.items():
        t_start = time.perf_counter()
        A = np.asarray(mag(w, lens).block_until_ready())
        t_first = time.perf_counter() - t_start
        t_start = time.perf_counter()
        mag(w, lens).block_until_ready()
        t_run = time.perf_counter() - t_start
        curves[name] = A
        rows.append((name, A.max(), float(t[np.argmax(A)]), t_first, t_run / args.points * 1e6))

    print(f"Point-source light curves, {args.points} points, t0={t0}, tE={tE} d, u0={u0}, alpha=30 deg")
    print(f"{'model':<26}{'A_max':>10}{'t(A_max) [d]':>14}{'compile+run [s]':>17}{'per point [us]':>16}")
    for name, amax, tmax, tf, per in rows:
        print(f"{name:<26}{amax:>10.3f}{tmax:>14.3f}{tf:>17.2f}{per:>16.2f}")
    print("\nSample of the binary-lens light curve:")
    print(f"{'t [d]':>10}{'A':>12}")
    binary = curves["2L1S (s=1.1, q=3e-3)"]
    for i in np.linspace(0, args.points - 1, 9).astype(int):
        print(f"{float(t[i]):>10.2f}{binary[i]:>12.5f}")
    _plot(Path(args.out), t, w, lenses, curves)
    return 0


def _plot(out: Path, t, w, lenses, curves) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not installed: no plot; pip install 'microjax-survey[plot]')")
        return
    import numpy as np

    import microjax_core as mc

    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for i, (name, lens) in enumerate(lenses.items()):
        color = f"C{i}"
        if lens.n_lenses > 1:
            _, caus = mc.critical_curves_and_caustics(lens, n_points=1000)
            caus = np.asarray(caus)
            axes[0].plot(caus.real.ravel(), caus.imag.ravel(), ".", ms=0.8, color=color, label=f"caustic {name}")
        axes[1].semilogy(np.asarray(t), curves[name], color=color, label=name)
    axes[0].plot(np.asarray(w).real, np.asarray(w).imag, "k-", lw=0.8, label="source track")
    axes[0].set(xlim=(-1.5, 1.5), ylim=(-1.0, 1.0), xlabel=r"$x/\theta_E$", ylabel=r"$y/\theta_E$", aspect="equal")
    axes[0].legend(fontsize=7, markerscale=8, loc="lower right")
    axes[1].set(xlabel="t - t0 [d]", ylabel="magnification")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    path = out / "demo_light_curves.png"
    fig.savefig(path, dpi=120)
    print(f"\nPlot written to {path}")
