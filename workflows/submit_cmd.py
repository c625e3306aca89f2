"""``microjax-survey submit``: fit a survey into a catalog on a Dask cluster (local by default)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("survey", help="survey directory (obs/, meta/, manifest.json) from `microjax-survey simulate`")
    p.add_argument("--catalog", required=True, help="catalog directory (created if missing)")
    p.add_argument("--workers", type=int, default=None, help="local workers (default: one per core)")
    p.add_argument("--threads-per-worker", type=int, default=1, help="JAX threads per local worker (default 1)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None, help="attach to a running scheduler, e.g. tcp://HOST:8786")
    where.add_argument("--cluster", default=None, help="cluster spec, e.g. cluster/slurm.yaml (see cluster/README.md)")
    add_fit_arguments(p)
    p.add_argument("--limit", type=int, default=None, help="fit only the first N events")
    p.add_argument("--run-id", default=None, help="run id (default: run-<config hash>); a rerun skips finished events")
    p.add_argument("--retries", type=int, default=2, help="task retries when a worker dies (default 2)")


def add_fit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="auto", choices=["auto", "1L1S", "2L1S", "3L1S"],
                   help="auto: 1L1S, then 2L1S when the anomaly check fires (default); 3L1S: a third body "
                        "seeded from the best 2L1S mode's residuals")
    p.add_argument("--warmup", type=int, default=300, help="NUTS warm-up steps per chain (default 300)")
    p.add_argument("--samples", type=int, default=400, help="NUTS draws per chain (default 400)")
    p.add_argument("--chains", type=int, default=2, help="NUTS chains (default 2)")
    p.add_argument("--finite-source-2l1s", action="store_true",
                   help="refine 2L1S modes with a finite source (ICRS; minutes per mode on a CPU)")
    p.add_argument("--negative-blend", action="store_true",
                   help="let the blend flux go negative on absolute (magnitude) photometry; default: fb >= 0")
    p.add_argument("--rescale-errors", action="store_true",
                   help="scale each dataset's errors so the point-lens fit has chi2/dof = 1 outside the anomaly")
    p.add_argument("--sampling-budget", type=float, default=600.0, metavar="SECONDS",
                   help="NUTS wall time per mode (default 600; 0: no limit): past it the chains stop and the mode "
                        "is reported unconverged with the draws so far")
    p.add_argument("--seed", type=int, default=0, help="random seed of the sampler (default 0)")


def fit_config(args, **extra):
    from pipeline.fit import FitConfig, SamplerSettings

    for name in ("warmup", "samples", "chains"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be a positive integer, got {getattr(args, name)}")
    if not args.sampling_budget >= 0:
        raise ValueError(f"--sampling-budget must be >= 0 seconds (0: no limit), got {args.sampling_budget}")
    return FitConfig(model=args.model, finite_source_2l1s=args.finite_source_2l1s, seed=args.seed,
                     blend_floor=not args.negative_blend, rescale_errors=args.rescale_errors,
                     sampling_budget_s=args.sampling_budget or None,
                     sampler=SamplerSettings(num_warmup=args.warmup, num_samples=args.samples,
                                             num_chains=args.chains), **extra)


def open_client(args):
    """``(client, cluster)``: attach to ``--scheduler``, start ``--cluster``, or an embedded LocalCluster."""
    from distributed import Client

    from pipeline.clusters import load_spec, make_cluster
    from pipeline.orchestrate import local_cluster

    if args.scheduler:
        try:
            return Client(args.scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(f"cannot reach the scheduler at {args.scheduler}: {exc}") from None
    if args.cluster:
        spec = load_spec(args.cluster)
        if spec["kind"] == "scheduler":
            return Client(spec["address"], timeout="10s"), None
        cluster = make_cluster(spec)
        return Client(cluster), cluster
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be a positive integer, got {args.workers}")
    cluster = local_cluster(args.workers, args.threads_per_worker)
    return Client(cluster), cluster


def run(args) -> int:
    from tqdm import tqdm

    from pipeline.catalog import Catalog, CatalogError
    from pipeline.orchestrate import submit, survey_events

    try:
        config = fit_config(args)
        ids, _ = survey_events(args.survey)
        Catalog(args.catalog)
    except (ValueError, FileNotFoundError, CatalogError) as exc:
        print(f"microjax-survey submit: {exc}", file=sys.stderr)
        return 2
    try:
        client, cluster = open_client(args)
    except (ConnectionError, ValueError) as exc:
        print(f"microjax-survey submit: {exc}", file=sys.stderr)
        return 2
    tic = time.perf_counter()
    try:
        n = len(ids) if args.limit is None else min(args.limit, len(ids))
        from pipeline.dashboard import install

        page = install(client)
        print(f"Dask dashboard: {client.dashboard_link}  (scheduler {client.scheduler.address}, "
              f"{len(client.scheduler_info()['workers'])} workers)"
              + (f"\nsurvey progress page: {page}" if page else ""), flush=True)
        with tqdm(total=n, unit="event", desc="fitting", file=sys.stderr) as bar:
            def start(done):
                bar.update(done)
            record = submit(args.survey, args.catalog, client, config=config, run_id=args.run_id, limit=args.limit,
                            retries=args.retries, progress=bar, on_start=start)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    c = record["counts"]
    print(f"run {record['run_id']}: {record['n_fitted']} fitted ({c['ok']} ok, {c['unconverged']} unconverged, "
          f"{c['failed']} failed), {record['n_skipped']} already in the catalog, "
          f"{record['wall_time_s']:.1f} s, {record['events_per_hour']:.0f} events/hour "
          f"(total {time.perf_counter() - tic:.1f} s)")
    for worker, w in sorted(record["per_worker"].items()):
        print(f"  worker {worker}: {w['events']} events, {w['compilations']} XLA compilations "
              f"({w['first_event']} in its first event, at most {w['later_max']} in a later one)")
    print(f"catalog: {Path(args.catalog).resolve()}   query: microjax-survey query {args.catalog}")
    return 0 if c["failed"] == 0 else 1
