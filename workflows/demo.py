"""``microjax-survey demo``: the README's main job.

Simulates a small mixed Roman-like survey (single lenses, stellar binaries, planets),
fits it on an embedded ``distributed.LocalCluster`` into a Parquet catalog, and prints
the catalog summary (recovered vs true class and key parameters), a query example,
the dashboard address and how long it took; saves plots of a few fitted events.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="demo-output", help="directory for the survey, catalog and plots")
    p.add_argument("--events", type=int, default=30, help="events to simulate (default 30: ~9-10 min on 2 cores)")
    p.add_argument("--mix", default="1L1S=0.6,2L1S=0.2,planet=0.2", help="class mix of the simulated survey")
    p.add_argument("--workers", type=int, default=None, help="local Dask workers (default: one per core)")
    p.add_argument("--seed", type=int, default=2026, help="simulation seed (default 2026)")
    p.add_argument("--warmup", type=int, default=150, help="NUTS warm-up steps per chain (default 150)")
    p.add_argument("--samples", type=int, default=200, help="NUTS draws per chain (default 200)")
    p.add_argument("--max-modes", type=int, default=2, help="2L1S modes kept per event (default 2)")
    p.add_argument("--plots", type=int, default=3, help="events to plot (default 3)")


def _summary(catalog, run_id, truth):
    import numpy as np
    import pandas as pd

    sol = catalog.solutions(run_id).to_pandas()
    best = sol[sol.is_best].set_index("event_id")
    failed = sol[sol.status == "failed"].event_id.unique()
    t = truth.set_index("event_id")
    rows = []
    for eid, tr in t.iterrows():
        if eid not in best.index:
            rows.append({"event": eid, "true": tr.model_type, "pop": tr.population, "fit": "failed"})
            continue
        b = best.loc[eid]
        # the posterior median, or the MAP of a mode that was not sampled (e.g. a caustic crossing the
        # point-source 2L1S model cannot describe)
        est = "median" if np.isfinite(b.tE_median) else "MAP"
        fit = {p: b[f"{p}_median"] if est == "median" else b[f"{p}_map"] for p in ("tE", "s", "q")}
        rows.append({"event": eid, "true": tr.model_type, "pop": tr.population, "fit": b.model_type,
                     "modes": int((sol.event_id == eid).sum()), "status": b.status, "from": est,
                     "tE true": tr.tE, "tE fit": fit["tE"],
                     "s true": tr.s, "s fit": fit["s"], "q true": tr.q, "q fit": fit["q"],
                     "dchi2 vs 1L1S": b.delta_chi2_vs_1L1S, "R-hat": b.r_hat_max, "div": b.n_divergences,
                     "wall s": b.wall_time_s})
    df = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format", "{:.4g}".format):
        print(df.to_string(index=False))
    fitted = df[df.fit != "failed"]
    conf = pd.crosstab(fitted["true"], fitted["fit"], rownames=["true class"], colnames=["best-fit class"])
    print("\nClassification (true vs best-fit class):")
    print(conf.to_string())
    ok = fitted["tE fit"].notna()
    rel = np.abs(fitted["tE fit"][ok] / fitted["tE true"][ok] - 1)
    print(f"\ntE recovered within 10%: {int((rel < 0.1).sum())}/{int(ok.sum())} events ('from': the posterior median, "
          f"or the MAP of a mode not sampled); failed fits: {len(failed)}")


def run(args) -> int:
    if args.events < 1:
        print(f"microjax-survey demo: --events must be a positive integer, got {args.events}", file=sys.stderr)
        return 2
    from distributed import Client
    from tqdm import tqdm

    from pipeline.catalog import Catalog
    from pipeline.fit import FitConfig, SamplerSettings
    from pipeline.orchestrate import local_cluster, submit
    from pipeline.simulate import write_survey
    from pipeline.simulate.survey import read_survey

    tic = time.perf_counter()
    out = Path(args.out)
    survey, catalog_dir = out / "survey", out / "catalog"
    for d in (survey, catalog_dir):
        if d.exists():
            shutil.rmtree(d)
    print(f"1/3 simulating {args.events} Roman-like events (gbtds-2025, mix {args.mix}, window 'event') ...",
          flush=True)
    with tqdm(total=args.events, unit="event", file=sys.stderr) as bar:
        write_survey(survey, args.events, mix=args.mix, seed=args.seed, window="event", progress=lambda i: bar.update(1))
    t_sim = time.perf_counter() - tic
    config = FitConfig(max_modes=args.max_modes,
                       sampler=SamplerSettings(num_warmup=args.warmup, num_samples=args.samples, num_chains=2))
    cluster = local_cluster(args.workers, 1)
    client = Client(cluster)
    from pipeline.dashboard import install

    page = install(client)
    print(f"2/3 fitting on a local Dask cluster ({len(client.scheduler_info()['workers'])} workers); "
          f"dashboard: {client.dashboard_link}" + (f", survey progress: {page}" if page else ""), flush=True)
    try:
        with tqdm(total=args.events, unit="event", desc="fitting", file=sys.stderr) as bar:
            record = submit(survey, catalog_dir, client, config=config, run_id="demo", progress=bar)
    finally:
        client.close()
        cluster.close()
    t_fit = time.perf_counter() - tic - t_sim
    catalog = Catalog(catalog_dir)
    _, _, truth, _ = read_survey(survey)
    print(f"\n3/3 catalog summary (run {record['run_id']}, {record['n_fitted']} events, "
          f"{record['events_per_hour']:.0f} events/hour):")
    _summary(catalog, "demo", truth)
    for worker, w in sorted(record["per_worker"].items()):
        print(f"worker {worker}: {w['events']} events, {w['compilations']} XLA compilations "
              f"({w['first_event']} in its first event, at most {w['later_max']} in a later one)")
    example = f"microjax-survey query {catalog_dir} --where \"model_type == '2L1S' and is_best\" " \
              "--columns event_id mode_label s_median q_median relative_probability"
    print(f"\nQuery example:\n  {example}")
    from pipeline.query import query

    print(query(catalog.dataset("solutions"), where="model_type == '2L1S' and is_best",
                columns=["event_id", "mode_label", "s_median", "q_median", "relative_probability"])
          .to_pandas().to_string(index=False))
    _plots(catalog, survey, out / "plots", args.plots)
    print(f"\ndemo finished in {time.perf_counter() - tic:.1f} s (simulate {t_sim:.1f} s, fit {t_fit:.1f} s); "
          f"outputs in {out.resolve()}")
    return 0


def _plots(catalog, survey, out, n):
    if n <= 0:
        return
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        print("(matplotlib not installed: no plots; pip install 'microjax-survey[plot]')")
        return
    import pyarrow.compute as pc

    from pipeline.fit import datasets_from_survey
    from pipeline.fit.plots import plot_fit
    from pipeline.orchestrate import _event_obs

    sol = catalog.solutions("demo")
    best = sol.filter(sol.column("is_best")).to_pandas().sort_values("delta_chi2_vs_1L1S", ascending=False)
    for eid in best.event_id.head(n):
        rows = sol.filter(pc.equal(sol.column("event_id"), eid))
        post = catalog.posteriors("demo", filter=pc.field("event_id") == eid)
        files = plot_fit(datasets_from_survey(_event_obs(survey, eid)), rows, post, out / f"event-{eid}")
        print(f"plots for event {eid}: " + ", ".join(str(f) for f in files))
