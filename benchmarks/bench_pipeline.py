"""Survey pipeline throughput: events per hour with 1 and 2 local Dask workers, compilations per
worker, and the time split simulate / fit / write. Prints a table and writes JSON.

    python benchmarks/bench_pipeline.py [--events 12] [--mix 1L1S=1] [--warmup 150 --samples 200]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=12)
    ap.add_argument("--mix", default="1L1S=1")
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--json", default="benchmarks/bench_pipeline.json")
    args = ap.parse_args()
    from workflows.runtime import configure

    configure()
    from distributed import Client

    from pipeline.fit import FitConfig, SamplerSettings
    from pipeline.orchestrate import local_cluster, submit
    from pipeline.simulate import write_survey

    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    tic = time.perf_counter()
    write_survey(work / "survey", args.events, mix=args.mix, seed=3, window="event")
    t_sim = time.perf_counter() - tic
    config = FitConfig(sampler=SamplerSettings(num_warmup=args.warmup, num_samples=args.samples))
    rows = []
    for n in args.workers:
        cat = work / f"catalog-{n}"
        with local_cluster(n, 1, dashboard_address=":0") as cluster, Client(cluster) as client:
            client.run(lambda: None)
            rec = submit(work / "survey", cat, client, config=config, run_id=f"w{n}")
        comp = {w: (v["first_event"], v["later_max"]) for w, v in rec["per_worker"].items()}
        rows.append({"workers": n, "events": rec["n_fitted"], "wall_s": rec["wall_time_s"],
                     "events_per_hour": rec["events_per_hour"], "fit_s_total": rec["stage_time_s"]["fit_s"],
                     "write_s_total": rec["stage_time_s"]["write_s"], "compilations": comp,
                     "counts": rec["counts"]})
    base = rows[0]["events_per_hour"]
    print(f"simulate {args.events} events ({args.mix}, window 'event'): {t_sim:.1f} s "
          f"({3600 * args.events / t_sim:.0f} events/hour)")
    print(f"{'workers':>8}{'wall s':>9}{'events/h':>10}{'speed-up':>10}{'efficiency':>11}{'fit s':>9}{'write s':>9}"
          "  compilations per worker (first event, max later)")
    for r in rows:
        sp = r["events_per_hour"] / base
        print(f"{r['workers']:>8}{r['wall_s']:>9.1f}{r['events_per_hour']:>10.0f}{sp:>10.2f}"
              f"{sp / (r['workers'] / rows[0]['workers']):>11.2f}{r['fit_s_total']:>9.1f}{r['write_s_total']:>9.2f}  "
              + ", ".join(f"{a}/{b}" for a, b in r["compilations"].values()))
    out = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "simulate_s": t_sim,
           "events": args.events, "mix": args.mix, "warmup": args.warmup, "samples": args.samples, "rows": rows}
    Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
