"""The ``microjax-survey`` console script: parse arguments, call one subcommand module."""
from __future__ import annotations

import argparse
import sys

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="microjax-survey",
        description="Differentiable microlensing models for Roman-survey event catalogs.",
    )
    parser.add_argument("--platform", choices=["cpu", "gpu", "cuda"], default=None,
                        help="JAX platform (default: JAX's choice)")
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from . import demo

    from . import simulate_cmd

    demo.add_arguments(sub.add_parser("demo", help="run the main example job and print a summary"))
    simulate_cmd.add_arguments(sub.add_parser(
        "simulate", help="write a synthetic Roman-like survey (obs/meta/truth Parquet)"))
    simulate_cmd.add_plot_arguments(sub.add_parser(
        "plot", help="draw light curves of a simulated survey with their truths"))
    from . import catalog_cmds, fit_cmd, submit_cmd

    submit_cmd.add_arguments(sub.add_parser("submit", help="fit a survey into a Parquet catalog on a Dask cluster"))
    catalog_cmds.add_monitor_arguments(sub.add_parser(
        "monitor", help="progress of a run: done/failed/remaining, throughput, dashboard link"))
    catalog_cmds.add_query_arguments(sub.add_parser(
        "query", help="filter and select the catalog (pyarrow filters, SQL through DuckDB)"))
    fit_cmd.add_arguments(sub.add_parser("fit", help="fit one event from photometry files, with plots"))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from .runtime import configure

    configure(platform=args.platform, log_level=args.log_level)
    if args.command == "simulate":
        from . import simulate_cmd

        return simulate_cmd.run(args)
    if args.command == "plot":
        from . import simulate_cmd

        return simulate_cmd.run_plot(args)
    if args.command in ("monitor", "query"):  # read-only: no JAX set-up needed
        from . import catalog_cmds

        return catalog_cmds.run_monitor(args) if args.command == "monitor" else catalog_cmds.run_query(args)
    from . import demo, fit_cmd, submit_cmd

    return {"submit": submit_cmd.run, "fit": fit_cmd.run, "demo": demo.run}[args.command](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
