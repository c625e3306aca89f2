"""NUTS on the planetary caustic crossing of ``bench_recovery.py`` from its finite-source MAP (issue 4).

The staged fit's search and polish find the MAP of this event (``bench_recovery.py --cases planetary
--finite-source``; on a CPU ~20 min). This script samples that mode alone — the step a CPU cannot
finish (~1 s per ICRS gradient on 705 points) — with the pipeline's ``run_nuts`` (Gauss-Newton Fisher
preconditioning, chains one after another) and reports the truth against the 95% intervals.

    python benchmarks/sample_planetary_map.py --prepare .gpu/planetary_mode.pkl      # CPU: MAP and Fisher frame
    python benchmarks/sample_planetary_map.py --mode-file .gpu/planetary_mode.pkl \\
        --warmup 60 --samples 100 --max-tree-depth 4 --partial $OUT/partial.npz      # GPU node
    python benchmarks/sample_planetary_map.py --from-partial partial.npz             # the table from kept draws

``--prepare`` refines the stored MAP (``search.polish_least_squares``) and computes the sampler's frame
(bounds, centre, Fisher scale) on the CPU, so the GPU's minutes go to compiling and running NUTS. The
transitions are reported after each chunk of 10 per chain (``sample.draw_progress``) and kept in
``--partial`` (a run stopped by its time limit still leaves its draws).
"""
from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# where the search and polish of this event ended on this CPU (benchmarks/RESULTS.md, "Recovery of the issue's
# three test events"), 5 digits: t0, ln tE, u0, ln rho, alpha, ln s, ln q; --prepare refines it
MAP = np.array([2.4618855e+06, 2.99643, 0.41296, -6.50238, -0.90036, 0.26232, -6.21636])


def _event():
    from benchmarks.bench_recovery import cases, simulate
    from pipeline.fit.binning import bin_dataset
    from pipeline.fit.objective import pack
    from pipeline.fit.search import point_lens_search

    row = cases()["planetary"]
    datasets, _ = simulate(row, 1)
    pm = point_lens_search(pack(datasets))[0]
    t0, te, u0 = pm.theta[0], np.exp(pm.theta[1]), abs(pm.theta[2])
    return row, pack([bin_dataset(d, t0, te, u0, keep=[]) for d in datasets])


def prepare():
    """The event's binned data, the refined MAP, its chi^2 and the sampler frame (numpy only: picklable)."""
    import jax

    from pipeline.fit.models import ModelSpec
    from pipeline.fit.sample import sampler_frame
    from pipeline.fit.search import polish_least_squares

    row, data = _event()
    spec = ModelSpec("2L1S", finite_source=True, method="auto")
    tic = time.perf_counter()
    mode = polish_least_squares(spec, MAP, data)
    print(f"MAP refined in {time.perf_counter() - tic:.1f} s: chi2 {mode.chi2:.2f} ({data.n_points} binned points)",
          flush=True)
    tic = time.perf_counter()
    frame = sampler_frame(mode, data, gauss_newton=True)
    print(f"Fisher frame in {time.perf_counter() - tic:.1f} s", flush=True)
    return dict(row=row, data=jax.tree_util.tree_map(np.asarray, data), theta=mode.theta, chi2=mode.chi2,
                frame=tuple(np.asarray(a) for a in frame))


def report(row, draws) -> dict:
    """Truth against the central 68% and 95% intervals of ``draws`` (physical parameters), as a table."""
    truth = {"t0": row["t0"], "tE": row["tE"], "u0": -row["u0"], "rho": row["rho"], "alpha": -row["alpha"],
             "s": row["s"], "q": row["q"]}  # the reflected (same) light curve: the MAP's side
    out = {}
    print("| parameter | truth | median | 95% interval | inside 68% | inside 95% |\n|---|---|---|---|---|---|")
    for p, v in truth.items():
        x = np.asarray(draws[p]).ravel() - (v if p == "t0" else 0.0)
        v0 = 0.0 if p == "t0" else v
        lo, hi = np.quantile(x, [0.025, 0.975])
        l68, h68 = np.quantile(x, [0.16, 0.84])
        out[p] = dict(truth=v, lo=float(lo), hi=float(hi), in68=bool(l68 <= v0 <= h68), in95=bool(lo <= v0 <= hi))
        name = "t0 - truth (d)" if p == "t0" else p
        print(f"| {name} | {v0:.6g} | {np.median(x):.6g} | [{lo:.6g}, {hi:.6g}] | {'yes' if out[p]['in68'] else 'no'} "
              f"| {'yes' if out[p]['in95'] else 'NO'} |")
    return out


def from_partial(path):
    """The table from the draws a (possibly stopped) run kept: every chain's transitions after the warm-up."""
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    from benchmarks.bench_recovery import cases
    from pipeline.fit.models import LOG_PARAMS

    d = np.load(path)
    keep = d["i"] > int(d["warmup"])
    chains = sorted(set(d["chain"][keep]))
    n = min(int(np.sum(keep & (d["chain"] == c))) for c in chains)
    draws, diag = {}, []
    for k, name in enumerate(d["names"]):
        x = np.stack([d["theta"][keep & (d["chain"] == c)][:n, k] for c in chains])  # (chains, draws)
        diag.append((float(split_gelman_rubin(x)), float(effective_sample_size(x))) if n >= 4 else (np.nan, np.nan))
        draws[LOG_PARAMS.get(str(name), str(name))] = np.exp(x) if str(name) in LOG_PARAMS else x
    div = int(np.sum(d["diverging"][keep])) if "diverging" in d.files else "not recorded"
    print(f"{len(chains)} chain(s) x {n} draws after {int(d['warmup'])} warm-up transitions; divergences "
          f"{div}; steps per draw {d['n_steps'][keep].mean():.1f} "
          f"(max {d['n_steps'].max()}); split R-hat max {max(r for r, _ in diag):.3f}, ESS min "
          f"{min(e for _, e in diag):.0f}; sampling {d['t'][-1] - d['t'][0]:.0f} s after the first transition "
          f"at {d['t'][0]:.0f} s")
    report(cases()["planetary"], draws)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--samples", type=int, default=150)
    ap.add_argument("--max-tree-depth", type=int, default=5)
    ap.add_argument("--prepare", metavar="FILE", help="compute the MAP and frame, write them to FILE, stop")
    ap.add_argument("--mode-file", metavar="FILE", help="a --prepare file (else computed here)")
    ap.add_argument("--partial", metavar="NPZ", help="keep the transitions drawn so far in NPZ")
    ap.add_argument("--from-partial", metavar="NPZ", help="only report on the draws kept in NPZ by an earlier run")
    args = ap.parse_args()
    from workflows.runtime import configure

    configure()
    if args.from_partial:
        return from_partial(args.from_partial)
    if args.prepare:
        Path(args.prepare).parent.mkdir(parents=True, exist_ok=True)
        Path(args.prepare).write_bytes(pickle.dumps(prepare()))
        print(f"wrote {args.prepare}")
        return
    import jax

    from benchmarks._common import machine, write_json
    from pipeline.fit.models import ModelSpec
    from pipeline.fit.sample import SamplerSettings, draw_progress, fit_coordinates, run_nuts
    from pipeline.fit.search import Mode

    prep = pickle.loads(Path(args.mode_file).read_bytes()) if args.mode_file else prepare()
    row, frame = prep["row"], prep["frame"]
    data = jax.tree_util.tree_map(jax.numpy.asarray, prep["data"])
    spec = ModelSpec("2L1S", finite_source=True, method="auto")
    print(f"{jax.devices()}; chi2 at the MAP {prep['chi2']:.2f}", flush=True)
    settings = SamplerSettings(num_warmup=args.warmup, num_samples=args.samples, max_tree_depth=args.max_tree_depth,
                               chunk=10)
    kept, tic = [], time.perf_counter()

    def listener(chain, i, z, n_steps, diverging):  # chains in turn, a chunk of transitions each
        kept.append((i, chain, fit_coordinates(spec, frame, z), n_steps, time.perf_counter() - tic, diverging))
        if i == 1 or i % 10 == 0:
            print(f"[{time.perf_counter() - tic:7.1f} s] chain {chain} transition {i}/{args.warmup + args.samples}"
                  f" ({'warm-up' if i <= args.warmup else 'draw'}), {n_steps} steps", flush=True)
        if args.partial and (i % 10 == 0 or i == args.warmup + args.samples):
            arr = lambda j: np.array([k[j] for k in kept])  # noqa: E731
            np.savez(args.partial, i=arr(0), chain=arr(1), theta=arr(2), n_steps=arr(3), t=arr(4), diverging=arr(5),
                     names=np.array(spec.names), warmup=args.warmup)
    with draw_progress(listener):
        post = run_nuts(Mode(spec, prep["theta"], prep["chi2"]), data, settings, sequential=True, frame=frame)
    wall = time.perf_counter() - tic
    print(f"NUTS {wall:.1f} s (compile included): R-hat max {post.r_hat_max:.4f}, ESS bulk min {post.ess_bulk_min:.0f}, "
          f"divergences {post.n_divergences}, steps per draw {post.mean_steps:.1f}", flush=True)
    out = report(row, post.draws)
    write_json("planetary_nuts", {"machine": machine(), "wall_s": wall, "r_hat_max": post.r_hat_max,
                                  "ess_bulk_min": post.ess_bulk_min, "n_divergences": post.n_divergences,
                                  "mean_steps": post.mean_steps, "settings": vars(args), "params": out})


if __name__ == "__main__":
    main()
