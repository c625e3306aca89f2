"""The W149 noise model's sigma(mag), tabulated and plotted, with simulated scatter beside it.

    python benchmarks/noise_curve.py     # prints the table, writes benchmarks/noise_curve.png
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import write_json  # noqa: E402
from pipeline.simulate import PRESETS, W149  # noqa: E402
from pipeline.simulate.survey import observe  # noqa: E402


def main():
    mags = np.arange(14.0, 25.01, 1.0)
    rng = np.random.default_rng(0)
    rows = []
    print("| W149 | sigma 46.8 s (cycle7) | simulated scatter | sigma 66.9 s (gbtds-2025) | saturated |")
    print("|---|---|---|---|---|")
    for m in mags:
        s47 = float(W149.mag_error(m, PRESETS["cycle7"].exposure_s))
        s67 = float(W149.mag_error(m, PRESETS["gbtds-2025"].exposure_s))
        draw = observe(np.full(20000, W149.flux(m)), PRESETS["cycle7"].exposure_s, rng)
        scatter = float(np.nanstd(draw["mag"]))
        sat = bool(draw["saturated"][0])
        rows.append(dict(mag=m, sigma_46_8=s47, scatter_46_8=scatter, sigma_66_9=s67, saturated=sat))
        print(f"| {m:.1f} | {s47:.4f} | {scatter:.4f} | {s67:.4f} | {'yes' if sat else ''} |")
    print(f"sigma at W149 = 21.15, 46.8 s: {W149.mag_error(21.15, 46.8):.4f} mag (quoted by Penny et al. 2019: 0.01)")
    write_json("noise_curve", {"rows": rows})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fine = np.linspace(14, 25.5, 300)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(fine, W149.mag_error(fine, 46.8), label="46.8 s (cycle7)")
    ax.semilogy(fine, W149.mag_error(fine, 66.9), label="66.9 s (gbtds-2025)")
    ax.semilogy([r["mag"] for r in rows], [r["scatter_46_8"] for r in rows], "k.", label="simulated scatter, 46.8 s")
    ax.axvline(14.8, color="0.6", ls=":", label="saturation")
    ax.plot([21.15], [0.01], "r*", ms=10, label="Penny et al. 2019: 0.01 @ 21.15")
    ax.set_xlabel("W149 (mag)")
    ax.set_ylabel("sigma (mag)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(__file__).resolve().parent / "noise_curve.png"
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
