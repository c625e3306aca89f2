"""``microjax-survey fit FILE [FILE...]``: the staged fit of one event from photometry files, with plots."""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from .submit_cmd import add_fit_arguments, fit_config


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="photometry files (text: time mag|flux err [band]; or IPAC tables); "
                                            "each file (and band) is its own dataset")
    add_fit_arguments(p)
    p.add_argument("--kind", default="auto", choices=["auto", "mag", "flux"],
                   help="magnitudes or fluxes in the files (default: from the header or the values)")
    p.add_argument("--parallax", action="store_true", help="fit annual parallax (needs --ra and --dec)")
    p.add_argument("--ra", type=float, default=None, help="right ascension of the event, degrees")
    p.add_argument("--dec", type=float, default=None, help="declination of the event, degrees")
    p.add_argument("--t0-par", type=float, default=None, help="parallax reference time (default: the fitted t0)")
    p.add_argument("--ephemeris", action="append", default=[], metavar="FILE=EPHEMERIS",
                   help="the photometry FILE was taken from space: EPHEMERIS is the telescope's geocentric "
                        "position (BJD x y z in AU, or a JPL Horizons table); repeat per file; needs --parallax")
    p.add_argument("--out", default="fit-output", help="directory for tables and plots (default fit-output)")
    p.add_argument("--progress", default="auto", choices=["auto", "draws", "stages"],
                   help="draws: a bar of NUTS transitions as they are drawn (every 20 per chain); stages: one line "
                        "per stage; auto (default): draws when the error stream is a terminal")


def _observers(args) -> dict:
    """``{photometry file: Ephemeris}`` from the ``--ephemeris FILE=EPHEMERIS`` options."""
    from pipeline.ephemeris import read_ephemeris

    out = {}
    for item in args.ephemeris:
        data_file, sep, eph_file = item.partition("=")
        if not sep or not data_file or not eph_file:
            raise ValueError(f"--ephemeris {item!r}: expected FILE=EPHEMERIS")
        if data_file not in args.files:
            raise ValueError(f"--ephemeris {item!r}: {data_file} is not one of the photometry files "
                             f"({', '.join(args.files)})")
        out[data_file] = read_ephemeris(eph_file)
    if out and not args.parallax:
        raise ValueError("--ephemeris needs --parallax (and --ra, --dec): a space observer matters through parallax")
    return out


class _DrawBar:
    """A tqdm bar of NUTS transitions per sampled mode (warm-up included), with leapfrog steps and divergences."""

    def __init__(self):
        self.bar, self.divergent = None, 0

    def stage(self, name):
        self.close()
        if name.startswith("sampling"):
            from tqdm import tqdm

            self.bar, self.divergent = tqdm(desc=name, unit=" transitions", file=sys.stderr), 0

    def update(self, chain, i, z, num_steps, diverging):
        if self.bar is not None:
            self.divergent += diverging
            self.bar.set_postfix(steps=num_steps, divergent=self.divergent, refresh=False)
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run(args) -> int:
    from pipeline.fit import PhotometryError, fit_event, read_photometry

    try:
        observers = _observers(args)
        datasets = [replace(d, observer=observers.get(f)) for f in args.files for d in read_photometry(f, kind=args.kind)]
        config = fit_config(args, parallax=args.parallax, ra=args.ra, dec=args.dec, t0_par=args.t0_par)
    except (PhotometryError, ValueError) as exc:
        print(f"microjax-survey fit: {exc}", file=sys.stderr)
        return 2
    for d in datasets:
        where = f", seen from {d.observer.name}" if d.observer is not None else ""
        print(f"dataset {d.name}: {len(d)} points, band {d.band}, {d.extra.get('kind')}, {d.time_note}{where}")
    tic = time.perf_counter()

    bar = _DrawBar() if args.progress == "draws" or (args.progress == "auto" and sys.stderr.isatty()) else None

    def progress(stage):
        if bar is not None:
            bar.stage(stage)
        print(f"[{time.perf_counter() - tic:7.1f} s] {stage} ...", file=sys.stderr, flush=True)
    if bar is None:
        result = fit_event(datasets, config, progress=progress)
    else:
        from pipeline.fit.sample import draw_progress

        with draw_progress(bar.update):
            result = fit_event(datasets, config, progress=progress)
        bar.close()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import pyarrow.parquet as pq

    pq.write_table(result.solutions, out / "solutions.parquet")
    pq.write_table(result.posterior, out / "posterior.parquet")
    df = result.solutions.to_pandas().sort_values("relative_probability", ascending=False)
    cols = [c for c in ("mode_label", "status", "relative_probability", "chi2", "n_data_points", "t0_median",
                        "tE_median", "u0_median", "rho_median", "s_median", "q_median", "alpha_median", "r_hat_max",
                        "n_divergences") if c in df and df[c].notna().any()]
    print(df[cols].to_string(index=False))
    if result.stages.get("error_scales"):
        print("error bars scaled by " + ", ".join(f"{k:.3f} ({name})" for name, k in result.stages["error_scales"].items()))
    if (df.status == "failed").any():
        print(df.error_msg.iloc[0], file=sys.stderr)
        return 1
    try:
        from pipeline.fit.plots import plot_fit

        files = plot_fit(datasets, result.solutions, result.posterior, out)
        print("plots: " + ", ".join(str(f) for f in files))
    except ImportError:
        print("(matplotlib not installed: no plots; pip install 'microjax-survey[plot]')")
    print(f"wrote {out / 'solutions.parquet'} and {out / 'posterior.parquet'} in {time.perf_counter() - tic:.1f} s")
    return 0
