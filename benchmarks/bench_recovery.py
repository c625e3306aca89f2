"""Recovery of the issue's three kinds of test event by the staged fit (issue 4, "what must be shown" (a)).

Each case is one Roman-like event (``gbtds-2025`` cadence within 5 tE of t0, W149 noise,
``pipeline.simulate``'s light-curve model and noise) with known truth, fitted by
``pipeline.fit.fit_event`` at ``model="auto"``; the truth is compared with the central 95%
interval of the best solution's posterior draws — for the close/wide case, of the best
solution or its degenerate partner (the other side of s = 1; Griest & Safizadeh 1998,
Dominik 1999). 2L1S draws are reflected (``u0, alpha -> -u0, -alpha``: the same light curve)
onto the truth's side; ``alpha`` is compared on the circle.

* ``fspl``: a single lens whose source crosses it (u0 < rho): finite source needed.
* ``close-wide``: a high-magnification planetary event passing the central caustic
  (point-source data regime): the s <-> 1/s degeneracy.
* ``planetary``: a crossing of a planetary caustic (s > 1), finite source needed; run with
  ``--finite-source`` (``FitConfig(finite_source_2l1s=True)``). Its NUTS uses the ICRS
  gradient with chains one after another: a GPU job (minutes per mode on a CPU).

    python benchmarks/bench_recovery.py --cases fspl,close-wide
    python benchmarks/bench_recovery.py --cases planetary --finite-source      # on a GPU node

Prints a table (truth, 95% interval, inside?) per case and parameter, and writes JSON.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASES = ("fspl", "close-wide", "planetary")
PARAMS = {"1L1S": ("t0", "tE", "u0", "rho"), "2L1S": ("t0", "tE", "u0", "alpha", "s", "q")}


def _planetary_track(s, q, alpha, offset):
    """``u0`` of a track at angle ``alpha`` through the planetary caustic's centre, moved by ``offset`` (Einstein radii)."""
    import microjax_core as mc

    _, caustic = mc.critical_curves_and_caustics(mc.BinaryLens(s, q), n_points=400)
    z = np.asarray(caustic).ravel()
    far = z[np.abs(z - z[np.argmax(np.abs(z))]) < 0.3 * abs(s - 1 / s)]  # the planetary caustic's points
    c = far.mean()
    return float((c * np.exp(-1j * alpha)).imag + offset), float(np.ptp(far.real))


def cases():
    t0 = 2461850.5 + 35.0  # mid first season
    base = dict(t0=t0, alpha=0.0, s=np.nan, q=np.nan, s13=np.nan, q3=np.nan, psi=np.nan, piEN=0.0, piEE=0.0,
                t0_par=t0, ra=268.0, dec=-29.4)
    out = {
        "fspl": dict(base, model_type="1L1S", tE=12.0, u0=0.004, rho=0.012, source_mag=20.5, source_fraction=0.7),
        "close-wide": dict(base, model_type="2L1S", tE=18.0, u0=0.02, rho=3e-4, alpha=2.2, s=0.72, q=4e-3,
                           source_mag=21.0, source_fraction=0.8),
    }
    alpha = 0.9
    u0, size = _planetary_track(1.3, 2e-3, alpha, 0.004)
    out["planetary"] = dict(base, model_type="2L1S", tE=20.0, u0=u0, rho=1.5e-3, alpha=alpha, s=1.3, q=2e-3,
                            source_mag=20.5, source_fraction=0.9)
    return out


def simulate(row, seed):
    import pandas as pd

    from pipeline.fit.photometry import datasets_from_survey
    from pipeline.simulate.noise import W149
    from pipeline.simulate.presets import get_preset
    from pipeline.simulate.survey import light_curve_model, observe

    preset = get_preset("gbtds-2025")
    t = preset.epochs(0, 0)
    t = t[np.abs(t - row["t0"]) <= 5 * row["tE"]]
    a = light_curve_model(t, row)
    fs = float(W149.flux(row["source_mag"]))
    fb = fs * (1 / row["source_fraction"] - 1)
    obs = {"bjd": t, "band": np.full(t.size, "W149")}
    obs.update(observe(fs * a + fb, preset.exposure_s, np.random.default_rng(seed)))
    return datasets_from_survey(pd.DataFrame(obs)), float(a.max())


def check(res, row):
    """Per parameter: truth, 95% interval and inside? for the best solution and (2L1S) its close/wide partner."""
    sol = res.solutions.to_pandas()
    draws = res.posterior.to_pandas()
    best = sol[sol.is_best].iloc[0]
    chosen = [best]
    if row["model_type"] == "2L1S":  # the degenerate partner: the best-ranked solution on the other side of s = 1
        other = sol[(sol.model_type == "2L1S") & (sol.solution_id != best.solution_id)
                    & (np.sign(np.log(sol.s_map.astype(float))) != np.sign(np.log(float(best.s_map or 1.0))))]
        if len(other):
            chosen.append(other.sort_values("chi2").iloc[0])
    rows = []
    for s in chosen:
        d = draws[draws.solution_id == s.solution_id].copy()
        if d.empty or s.model_type != row["model_type"]:
            rows.append({"solution": s.solution_id, "model_type": s.model_type, "sampled": not d.empty})
            continue
        if s.model_type == "1L1S":
            d["u0"], truth_u0 = d["u0"].abs(), abs(row["u0"])
        else:
            truth_u0 = row["u0"]
            if np.sign(np.median(d["u0"])) != np.sign(row["u0"]):
                d["u0"], d["alpha"] = -d["u0"], -d["alpha"]
        inside = {}
        for p in PARAMS[row["model_type"]]:
            x = d[p].to_numpy()
            if np.all(np.isnan(x)):
                continue
            value = truth_u0 if p == "u0" else float(row[p])
            if p == "alpha":
                x, ref = np.angle(np.exp(1j * (x - value))), 0.0
            else:
                ref = value
            lo, hi = np.quantile(x, [0.025, 0.975])
            inside[p] = {"truth": value, "lo": float(lo if p != "alpha" else value + lo),
                         "hi": float(hi if p != "alpha" else value + hi), "inside": bool(lo <= ref <= hi)}
        rows.append({"solution": s.solution_id, "model_type": s.model_type, "sampled": True, "status": s.status,
                     "r_hat_max": float(s.r_hat_max), "n_divergences": int(s.n_divergences), "params": inside})
    return rows


def main():
    from benchmarks._common import machine, write_json
    from workflows.runtime import configure

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default="fspl,close-wide", help="comma list of " + ",".join(CASES))
    ap.add_argument("--finite-source", action="store_true", help="finite-source 2L1S modes (FitConfig)")
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--max-modes", type=int, default=3)
    ap.add_argument("--max-tree-depth", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json-name", default="recovery")
    args = ap.parse_args()
    configure()  # x64 on before any lens is built
    import logging
    logging.getLogger("pipeline.fit.modes").setLevel(logging.INFO)  # the finite-source search's steps
    from pipeline.fit import FitConfig, fit_event
    from pipeline.fit.sample import SamplerSettings

    table, payload = [], {"machine": machine(), "cases": {}}
    for name in args.cases.split(","):
        row = cases()[name]
        datasets, a_max = simulate(row, args.seed)
        config = FitConfig(model="auto", finite_source_2l1s=args.finite_source, max_modes=args.max_modes,
                           sampler=SamplerSettings(num_warmup=args.warmup, num_samples=args.samples,
                                                   max_tree_depth=args.max_tree_depth), seed=args.seed)
        print(f"[{name}] {sum(len(d) for d in datasets)} points, A_max = {a_max:.1f}; fitting ...", flush=True)
        tic = time.perf_counter()
        res = fit_event(datasets, config, progress=lambda stage: print(f"  {time.perf_counter() - tic:7.1f} s  {stage}",
                                                                       flush=True))
        wall = time.perf_counter() - tic
        sol = res.solutions.to_pandas()
        print(sol[["solution_id", "model_type", "status", "chi2", "relative_probability", "r_hat_max",
                   "n_divergences", "s_map", "q_map", "rho_map"]].to_string(index=False))
        if (sol.status == "failed").any():
            print(sol.error_msg.iloc[0])
        result = check(res, row)
        stages = {k: v for k, v in res.stages.items() if k.endswith("_s")}
        payload["cases"][name] = {"truth": {k: v for k, v in row.items() if isinstance(v, float)}, "a_max": a_max,
                                  "wall_s": wall, "stages": stages, "solutions": sol.drop(columns=["error_msg"]).to_dict(
                                      "records"), "check": result}
        for r in result:
            for p, v in r.get("params", {}).items():
                table.append((name, r["solution"], r.get("status", "-"), p, v["truth"], v["lo"], v["hi"], v["inside"]))
        print(f"[{name}] {wall:.1f} s in all; stages {', '.join(f'{k} {v:.1f}' for k, v in stages.items())}", flush=True)
    print("\n| case | solution | status | parameter | truth | 95% interval | inside |\n|---|---|---|---|---|---|---|")
    for name, sid, status, p, truth, lo, hi, inside in table:
        print(f"| {name} | {sid} | {status} | {p} | {truth:.6g} | [{lo:.6g}, {hi:.6g}] | {'yes' if inside else 'NO'} |")
    print("wrote", write_json(args.json_name, payload))


if __name__ == "__main__":
    main()
