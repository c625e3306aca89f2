"""``microjax-survey monitor`` and ``microjax-survey query`` over a catalog directory."""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone


def add_monitor_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("catalog", help="catalog directory")
    p.add_argument("--run-id", default=None, help="run to show (default: the most recent)")
    p.add_argument("--watch", action="store_true", help="refresh every --interval seconds until the run finishes")
    p.add_argument("--interval", type=float, default=5.0, help="refresh interval for --watch (default 5 s)")


def add_query_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("catalog", help="catalog directory")
    p.add_argument("--where", default=None, help="filter, e.g. \"model_type == '2L1S' and q_median < 0.01\"")
    p.add_argument("--columns", nargs="+", default=None, help="columns to keep (default: a summary set)")
    p.add_argument("--all-columns", action="store_true", help="keep every column")
    p.add_argument("--sql", default=None, help="SQL over views `solutions` and `posteriors` (needs DuckDB)")
    p.add_argument("--posteriors", action="store_true", help="query posterior draws instead of solutions")
    p.add_argument("--run-id", default=None, help="restrict to one run")
    p.add_argument("--format", default="table", choices=["table", "csv", "parquet"], help="output format")
    p.add_argument("--out", default=None, help="output file (required for parquet; default: print)")


SUMMARY_COLUMNS = ["event_id", "model_type", "mode_label", "is_best", "relative_probability", "status", "chi2",
                   "n_data_points", "delta_chi2_vs_1L1S", "t0_median", "tE_median", "u0_median", "s_median",
                   "q_median", "r_hat_max", "n_divergences", "wall_time_s"]


def _latest_run(catalog):
    runs = catalog.run_ids()
    if not runs:
        raise ValueError(f"{catalog.root}: no runs yet")
    return max(runs, key=lambda r: catalog.run_record(r).get("started_utc", ""))


def monitor_text(catalog, run_id) -> tuple[str, bool]:
    """The monitor report and whether the run has finished."""
    import numpy as np

    rec = catalog.run_record(run_id)
    ledger = catalog.ledger(run_id)
    counts = {s: sum(e["status"] == s for e in ledger) for s in ("ok", "unconverged", "failed")}
    done = len(ledger)
    total = rec.get("n_events", done)
    started = datetime.fromisoformat(rec["started_utc"])
    elapsed = rec.get("wall_time_s") or (datetime.now(timezone.utc) - started).total_seconds()
    fitted_now = done - rec.get("n_skipped", 0)
    rate = 3600 * fitted_now / elapsed if elapsed > 0 else 0.0
    lines = [f"run {run_id}  [{rec.get('status')}]  started {rec['started_utc']}",
             f"  events: {done}/{total} done ({counts['ok']} ok, {counts['unconverged']} unconverged, "
             f"{counts['failed']} failed), {total - done} remaining",
             f"  throughput: {rate:.0f} events/hour over {elapsed:.0f} s"]
    if rec.get("status") == "running" and rate > 0:
        lines.append(f"  estimated time left: {(total - done) / rate * 3600:.0f} s")
    lines.append(f"  dashboard: {rec.get('dashboard')}  (scheduler {rec.get('scheduler')})")
    if rec.get("progress_page"):
        lines.append(f"  survey progress page: {rec['progress_page']}")
    if done:
        sol = catalog.solutions(run_id, columns=["event_id", "is_best", "status", "r_hat_max", "n_divergences",
                                                 "wall_time_s", "model_type"]).to_pandas()
        best = sol[sol.is_best]
        if len(best):
            rh = best.r_hat_max.dropna()
            lines.append(f"  best solutions: {dict(best.model_type.value_counts())}; R-hat max median "
                         f"{np.median(rh) if len(rh) else float('nan'):.4f}, worst {rh.max() if len(rh) else float('nan'):.4f}; "
                         f"{int((best.n_divergences.fillna(0) > 0).sum())} with divergences")
        slow = sol.groupby("event_id").wall_time_s.max().sort_values(ascending=False).head(3)
        lines.append("  slowest events: " + ", ".join(f"{e} ({s:.0f} s)" for e, s in slow.items()))
        failed = sol[sol.status == "failed"]
        for e, msg in zip(failed.event_id.head(3), catalog.solutions(run_id, columns=["error_msg", "status"])
                          .to_pandas().query("status == 'failed'").error_msg.head(3)):
            lines.append(f"  failed {e}: {str(msg).splitlines()[0][:120]}")
    for worker, w in sorted(rec.get("per_worker", {}).items()):
        lines.append(f"  worker {worker}: {w['events']} events, {w['compilations']} compilations")
    return "\n".join(lines), rec.get("status") == "finished"


def run_monitor(args) -> int:
    from pipeline.catalog import Catalog, CatalogError

    try:
        catalog = Catalog(args.catalog, create=False)
        run_id = args.run_id or _latest_run(catalog)
        while True:
            text, finished = monitor_text(catalog, run_id)
            print(text, flush=True)
            if not args.watch or finished:
                return 0
            time.sleep(args.interval)
            print()
    except (CatalogError, ValueError) as exc:
        print(f"microjax-survey monitor: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


def run_query(args) -> int:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from pipeline.catalog import Catalog, CatalogError
    from pipeline.query import QueryError, query, sql

    try:
        catalog = Catalog(args.catalog, create=False)
        if args.sql:
            table = sql(catalog, args.sql)
        else:
            kind = "posteriors" if args.posteriors else "solutions"
            ds = catalog.dataset(kind, args.run_id)
            cols = args.columns or (None if args.all_columns or kind == "posteriors" else SUMMARY_COLUMNS)
            table = query(ds, where=args.where, columns=cols)
        if args.format == "parquet":
            if not args.out:
                raise ValueError("--format parquet needs --out FILE")
            pq.write_table(table, args.out)
        elif args.format == "csv":
            if args.out:
                pacsv.write_csv(table, args.out)
            else:
                table.to_pandas().to_csv(sys.stdout, index=False)
        else:
            import pandas as pd

            with pd.option_context("display.max_rows", 200, "display.width", 200, "display.max_columns", 40):
                text = table.to_pandas().to_string(index=False) if table.num_rows else "(no rows)"
            if args.out:
                with open(args.out, "w") as fh:
                    fh.write(text + "\n")
            else:
                print(text)
        if args.out:
            print(f"wrote {table.num_rows} rows to {args.out}", file=sys.stderr)
        return 0
    except (CatalogError, QueryError, ValueError) as exc:
        print(f"microjax-survey query: {exc}", file=sys.stderr)
        return 2
