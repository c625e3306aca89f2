"""The ``microjax-survey`` console script: parse arguments, call one subcommand module."""
from __future__ import annotations

import argparse
import sys

PLANNED = {
    "submit": "fit a survey into a Parquet catalog on a Dask cluster",
    "monitor": "progress of a run: done/failed/remaining, throughput, dashboard link",
    "query": "filter and select the catalog (pandas/pyarrow, SQL through DuckDB)",
    "fit": "fit one event from photometry files, with plots",
}


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
    for name, text in PLANNED.items():
        p = sub.add_parser(name, help=f"{text} (not yet available)")
        p.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command in PLANNED:
        print(f"microjax-survey {args.command}: not yet available in this version "
              f"({PLANNED[args.command]}).", file=sys.stderr)
        return 2
    from .runtime import configure

    configure(platform=args.platform, log_level=args.log_level)
    if args.command == "simulate":
        from . import simulate_cmd

        return simulate_cmd.run(args)
    if args.command == "plot":
        from . import simulate_cmd

        return simulate_cmd.run_plot(args)
    from . import demo

    return demo.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
