"""NUTS on the planetary caustic crossing of ``bench_recovery.py`` from its finite-source MAP (issue 4).

The staged fit's search and polish find the MAP of this event (``bench_recovery.py --cases planetary
--finite-source``; on a CPU ~20 min). This script samples that mode alone — the step a CPU cannot
finish (0.34 s per ICRS gradient) — with the pipeline's ``run_nuts`` (Gauss-Newton Fisher
preconditioning, chains one after another) and reports the truth against the 95% intervals.

    python benchmarks/sample_planetary_map.py --warmup 100 --samples 150 --max-tree-depth 5   # GPU node
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# the MAP the search and polish reached on this CPU (benchmarks/RESULTS.md, "Recovery of the issue's three
# test events"): t0, ln tE, u0, ln rho, alpha, ln s, ln q
MAP = np.array([2.4618855e+06, 2.99643, 0.41296, -6.50238, -0.90036, 0.26232, -6.21636])


def main():
    from benchmarks._common import machine, write_json
    from workflows.runtime import configure

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--samples", type=int, default=150)
    ap.add_argument("--max-tree-depth", type=int, default=5)
    args = ap.parse_args()
    configure()
    from benchmarks.bench_recovery import cases, simulate
    from pipeline.fit.binning import bin_dataset
    from pipeline.fit.models import ModelSpec
    from pipeline.fit.objective import chi2_function, pack
    from pipeline.fit.sample import SamplerSettings, run_nuts
    from pipeline.fit.search import Mode, point_lens_search

    row = cases()["planetary"]
    datasets, _ = simulate(row, 1)
    pm = point_lens_search(pack(datasets))[0]
    t0, te, u0 = pm.theta[0], np.exp(pm.theta[1]), abs(pm.theta[2])
    data = pack([bin_dataset(d, t0, te, u0, keep=[]) for d in datasets])
    spec = ModelSpec("2L1S", finite_source=True, method="auto")
    import jax.numpy as jnp
    chi2 = float(chi2_function(spec)(jnp.asarray(MAP), data))
    print(f"{data.n_points} binned points; chi2 at the MAP {chi2:.1f}", flush=True)
    tic = time.perf_counter()
    post = run_nuts(Mode(spec, MAP.copy(), chi2), data, SamplerSettings(
        num_warmup=args.warmup, num_samples=args.samples, max_tree_depth=args.max_tree_depth), sequential=True)
    wall = time.perf_counter() - tic
    print(f"NUTS {wall:.1f} s (compile included): R-hat max {post.r_hat_max:.4f}, ESS bulk min {post.ess_bulk_min:.0f}, "
          f"divergences {post.n_divergences}, steps per draw {post.mean_steps:.1f}", flush=True)
    truth = {"t0": row["t0"], "tE": row["tE"], "u0": -row["u0"], "rho": row["rho"], "alpha": -row["alpha"],
             "s": row["s"], "q": row["q"]}  # the reflected (same) light curve: the MAP's side
    out = {}
    print("| parameter | truth | 95% interval | inside |\n|---|---|---|---|")
    for p, v in truth.items():
        lo, hi = np.quantile(post.draws[p], [0.025, 0.975])
        out[p] = dict(truth=v, lo=float(lo), hi=float(hi), inside=bool(lo <= v <= hi))
        print(f"| {p} | {v:.6g} | [{lo:.6g}, {hi:.6g}] | {'yes' if lo <= v <= hi else 'NO'} |")
    write_json("planetary_nuts", {"machine": machine(), "wall_s": wall, "r_hat_max": post.r_hat_max,
                                  "n_divergences": post.n_divergences, "mean_steps": post.mean_steps,
                                  "settings": vars(args), "params": out})


if __name__ == "__main__":
    main()
