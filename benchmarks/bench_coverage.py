"""Posterior coverage and classification of the staged fit on simulated events with known truth (issue 4).

    python benchmarks/bench_coverage.py [--single 50] [--binary 20] [--workers 2] [--warmup 150 --samples 200]

Simulates ``--single`` 1L1S events (mix ``1L1S=1``) and ``--binary`` 2L1S events (mix
``2L1S=0.5,planet=0.5``: stellar binaries and planets) with the survey simulator
(gbtds-2025, window ``event``), fits them with ``pipeline.orchestrate.submit`` on a local
Dask cluster, and reports, per parameter, the fraction of events whose true value lies
inside the central 68% and 95% posterior intervals of the best solution (expected: about
68% and 95% if the posteriors are calibrated), and the confusion matrix of true class vs
best-fit class. Conventions: 1L1S compares ``|u0|`` (its sign is not identifiable);
2L1S draws are reflected (``u0, alpha -> -u0, -alpha``, the same light curve) onto the
truth's side, and ``alpha`` is compared on the circle. Coverage counts events whose
best-fit class is the true class and whose best solution was sampled. Writes JSON.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PARAMS = {"1L1S": ("t0", "tE", "u0"), "2L1S": ("t0", "tE", "u0", "alpha", "s", "q")}


def _intervals(x):
    import numpy as np

    return np.quantile(x, [0.16, 0.84]), np.quantile(x, [0.025, 0.975])


def coverage_rows(catalog, run_id, truth):
    """Per event and parameter: (class, parameter, inside 68%, inside 95%) of the best solution."""
    import numpy as np
    import pyarrow.compute as pc

    sol = catalog.solutions(run_id).to_pandas()
    out = []
    for eid, tr in truth.set_index("event_id").iterrows():
        best = sol[(sol.event_id == eid) & sol.is_best]
        if best.empty or best.iloc[0].model_type != tr.model_type or best.iloc[0].n_samples is None:
            continue
        b = best.iloc[0]
        draws = catalog.posteriors(run_id, filter=pc.field("solution_id") == b.solution_id).to_pandas()
        if draws.empty:
            continue
        if tr.model_type == "1L1S":
            draws["u0"] = draws["u0"].abs()
            truth_u0 = abs(tr.u0)
        else:
            truth_u0 = tr.u0
            if np.sign(np.median(draws["u0"])) != np.sign(tr.u0):  # the reflected, identical light curve
                draws["u0"], draws["alpha"] = -draws["u0"], -draws["alpha"]
        for p in PARAMS[tr.model_type]:
            x = draws[p].to_numpy()
            value = truth_u0 if p == "u0" else float(tr[p])
            if p == "alpha":  # on the circle: offsets from the truth, wrapped
                x, value = np.angle(np.exp(1j * (x - value))), 0.0
            i68, i95 = _intervals(x)
            out.append({"event_id": int(eid), "class": tr.model_type, "parameter": p,
                        "in68": bool(i68[0] <= value <= i68[1]), "in95": bool(i95[0] <= value <= i95[1])})
    return out


def _fit(survey, catalog_dir, workers, config):
    from distributed import Client

    from pipeline.orchestrate import local_cluster, submit

    cluster = local_cluster(workers, 1, dashboard_address=None)
    client = Client(cluster)
    try:
        from tqdm import tqdm

        with tqdm(desc=f"fitting {survey.name}", unit="event", file=sys.stderr) as bar:
            return submit(survey, catalog_dir, client, config=config, run_id=survey.name, progress=bar)
    finally:
        client.close()
        cluster.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--single", type=int, default=50)
    ap.add_argument("--binary", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--seed", type=int, default=404)
    ap.add_argument("--sampling-budget", type=float, default=600.0, help="NUTS seconds per mode (FitConfig)")
    ap.add_argument("--out", default="benchmarks/out/coverage")
    ap.add_argument("--json", default="benchmarks/out/bench_coverage.json")
    ap.add_argument("--analyse-only", action="store_true",
                    help="do not fit: report on the events already in the catalog (e.g. a run stopped early)")
    args = ap.parse_args()
    from workflows.runtime import configure

    configure()
    import numpy as np
    import pandas as pd

    from pipeline.catalog import Catalog
    from pipeline.fit import FitConfig, SamplerSettings
    from pipeline.simulate import write_survey
    from pipeline.simulate.survey import read_survey

    out = Path(args.out)
    config = FitConfig(max_modes=2, sampling_budget_s=args.sampling_budget,
                       sampler=SamplerSettings(num_warmup=args.warmup, num_samples=args.samples))
    tic = time.perf_counter()
    cov, confusion, status, walls = [], [], [], {}
    for name, n, mix, seed in (("single", args.single, "1L1S=1", args.seed),
                               ("binary", args.binary, "2L1S=0.5,planet=0.5", args.seed + 1)):
        if n <= 0:
            continue
        survey = out / name
        if not (survey / "manifest.json").exists():
            write_survey(survey, n, mix=mix, seed=seed, window="event")
        t = time.perf_counter()
        if not args.analyse_only:
            record = _fit(survey, out / "catalog", args.workers, config)
            walls[name] = {"events": n, "wall_s": time.perf_counter() - t, "events_per_hour": record["events_per_hour"]}
        catalog = Catalog(out / "catalog")
        truth = read_survey(survey)[2]
        truth = truth[truth.event_id.isin(catalog.finished(name))]  # events fitted so far
        cov += coverage_rows(catalog, name, truth)
        sol = catalog.solutions(name).to_pandas()
        for eid, tr in truth.set_index("event_id").iterrows():
            rows = sol[sol.event_id == eid]
            best = rows[rows.is_best]
            fitted = best.iloc[0].model_type if len(best) else "failed"
            confusion.append({"true": tr.model_type, "population": tr.population, "fit": fitted})
            status.append({"true": tr.model_type, "status": best.iloc[0].status if len(best) else "failed"})
    df = pd.DataFrame(cov)
    table = (df.groupby(["class", "parameter"], sort=False)
             .agg(events=("in68", "size"), inside_68=("in68", "mean"), inside_95=("in95", "mean")).reset_index())
    conf = pd.crosstab(pd.DataFrame(confusion)["population"], pd.DataFrame(confusion)["fit"])
    stat = pd.crosstab(pd.DataFrame(status)["true"], pd.DataFrame(status)["status"])
    print(f"\nCoverage of the best solution's central intervals ({platform.processor() or platform.machine()}, "
          f"{args.workers} workers, NUTS {args.warmup}+{args.samples} x 2 chains):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print("\nTrue population (rows) vs best-fit class (columns):")
    print(conf.to_string())
    print("\nStatus of the best solution:")
    print(stat.to_string())
    print(f"\nwall: {json.dumps({k: {a: round(b, 1) for a, b in v.items()} for k, v in walls.items()})}; "
          f"total {time.perf_counter() - tic:.0f} s")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"coverage": table.to_dict("records"), "confusion": conf.to_dict(),
                                           "status": stat.to_dict(), "wall": walls,
                                           "per_event": cov, "machine": platform.platform(),
                                           "binomial_sd_68": float(np.sqrt(0.68 * 0.32 / max(args.single, 1)))},
                                          indent=1, default=str))


if __name__ == "__main__":
    main()
