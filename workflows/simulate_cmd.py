"""``microjax-survey simulate`` and ``microjax-survey plot`` (for a simulated survey)."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--events", type=int, default=100, help="number of events (default 100)")
    p.add_argument("--preset", default="gbtds-2025", help="survey preset: gbtds-2025 (default) or cycle7")
    p.add_argument("--mix", default="1L1S=0.6,2L1S=0.3,planet=0.1",
                   help='class mix, e.g. "1L1S=0.6,2L1S=0.3,planet=0.1" (classes 1L1S, 2L1S, planet, 3L1S)')
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="output directory (obs/, meta/, truth/, manifest.json)")
    p.add_argument("--window", default="season", choices=["season", "event", "full"],
                   help="keep the season containing t0 (default), +-max(5 tE, 10 d) around t0, or the whole survey")
    p.add_argument("--parallax", action="store_true",
                   help="include annual parallax (|pi_E| log-uniform in 0.02-0.5, t0_par = t0)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out directory")
    p.add_argument("--plot", type=int, default=6, metavar="N",
                   help="also draw N light curves with their truths into OUT/lightcurves.png (0: none)")


def add_plot_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("survey", help="a directory written by `microjax-survey simulate`")
    p.add_argument("--events", type=int, nargs="*", default=None, help="event ids (default: a selection)")
    p.add_argument("-n", type=int, default=6, help="how many events when --events is not given (default 6)")
    p.add_argument("--out", default=None, help="image file (default SURVEY/lightcurves.png)")


def run(args) -> int:
    from pipeline.simulate import get_preset, parse_mix, write_survey
    from pipeline.simulate.plot import plot_survey_events

    try:
        if args.events < 1:
            raise ValueError(f"--events must be a positive integer, got {args.events}")
        get_preset(args.preset)
        parse_mix(args.mix)
    except ValueError as exc:
        print(f"microjax-survey simulate: {exc}", file=sys.stderr)
        return 2
    from tqdm import tqdm

    bar = tqdm(total=args.events, desc="simulating", unit="event", file=sys.stderr)
    try:
        manifest = write_survey(args.out, args.events, preset=args.preset, mix=args.mix, seed=args.seed,
                                window=args.window, parallax=args.parallax, overwrite=args.overwrite,
                                progress=lambda i: bar.update(1))
    except FileExistsError as exc:
        bar.close()
        print(f"microjax-survey simulate: {exc}", file=sys.stderr)
        return 2
    bar.close()
    rate = args.events / manifest["wall_time_s"] * 3600
    print(f"wrote {args.events} events ({manifest['n_obs']} observations) to {args.out} in "
          f"{manifest['wall_time_s']:.1f} s ({rate:.0f} events/hour)")
    print("classes: " + ", ".join(f"{k}={v}" for k, v in sorted(manifest["counts"].items())))
    if args.plot:
        out = Path(args.out) / "lightcurves.png"
        plot_survey_events(args.out, out, n=args.plot)
        print(f"light curves with truths: {out}")
    return 0


def run_plot(args) -> int:
    from pipeline.simulate.plot import plot_survey_events

    out = args.out or str(Path(args.survey) / "lightcurves.png")
    t = time.perf_counter()
    try:
        plot_survey_events(args.survey, out, event_ids=args.events, n=args.n)
    except (FileNotFoundError, ValueError) as exc:
        print(f"microjax-survey plot: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({time.perf_counter() - t:.1f} s)")
    return 0
