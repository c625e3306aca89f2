"""Simulate a Roman-like survey and write it as ``obs`` / ``meta`` / ``truth`` Parquet.

Each event's light curve is exactly ``F(t) = fs A(t) + fb`` (counts/s) plus Gaussian
noise with the W149 model's sigma at the true flux, where ``A`` comes from
``microjax_core.magnification`` on the source trajectory (DESIGN.md §3). Light curves
are evaluated in padded blocks of ``BLOCK`` points, so the magnification compiles once per
lens type. Reproducible: one ``numpy`` generator seeded from ``seed`` draws everything.
"""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from .. import schema
from ..atomic import write_bytes, write_table
from ..ephemeris import roman_ephemeris
from .noise import W149, NoiseModel
from .population import draw_events, parse_mix
from .presets import SurveyPreset, get_preset

__all__ = ["WINDOWS", "simulate_survey", "light_curve_model", "observe", "write_survey", "read_survey", "read_manifest"]

WINDOWS = ("season", "event", "full")
BLOCK = 4096  # light curves are evaluated in blocks of this many points (padded): one compile per lens type
FIELD_CENTRES = [(268.0 + 0.45 * k, -29.4 + 0.25 * (k % 3)) for k in range(8)]  # (RA, Dec) deg, bulge


def _lens(row):
    import microjax_core as mc

    if row["model_type"] == "1L1S":
        return mc.PointLens()
    if row["model_type"] == "2L1S":
        return mc.BinaryLens(float(row["s"]), float(row["q"]))
    return mc.TripleLens(float(row["s"]), float(row["q"]), float(row["s13"]), float(row["q3"]), float(row["psi"]))


def light_curve_model(bjd, row) -> np.ndarray:
    """Magnification ``A(t)`` of one event (``row``: a mapping of truth parameters)."""
    import jax.numpy as jnp

    import microjax_core as mc

    t = np.asarray(bjd, float)
    n = t.size
    size = BLOCK * max(1, -(-n // BLOCK))
    w = np.full(size, 1e3 + 0j)  # padding far from the lens: cheap and inert
    if row.get("piEN", 0.0) or row.get("piEE", 0.0):  # seen from Roman at the Sun-Earth L2 point
        eph = roman_ephemeris(t)
        offsets = mc.parallax_offsets(jnp.asarray(t), row["ra"], row["dec"], row["t0_par"],
                                      observer=(jnp.asarray(eph.t), jnp.asarray(eph.xyz)))
        w[:n] = np.asarray(mc.trajectory_with_parallax(jnp.asarray(t), row["t0"], row["tE"], row["u0"], row["alpha"],
                                                       row["piEN"], row["piEE"], offsets))
    else:
        w[:n] = np.asarray(mc.source_trajectory(jnp.asarray(t), row["t0"], row["tE"], row["u0"], row["alpha"]))
    lens = _lens(row)
    # block by block: the finite-source tiers compile once per lens type, not once per light-curve length
    # (a 2L1S light curve's ICRS program takes ~30 s to compile on a CPU)
    a = [np.asarray(mc.magnification(jnp.asarray(w[k:k + BLOCK]), lens, float(row["rho"])))
         for k in range(0, size, BLOCK)]
    return np.concatenate(a)[:n]


def observe(true_flux, exposure_s, rng, noise: NoiseModel = W149) -> dict:
    """One noisy measurement per true flux (counts/s): Gaussian with the model's sigma.

    Returns ``flux, flux_err, mag, mag_err, saturated`` (magnitudes NaN where the
    measured flux is not positive).
    """
    true_flux = np.asarray(true_flux, float)
    err = noise.flux_error(true_flux, exposure_s)
    flux = true_flux + rng.normal(size=true_flux.shape) * err
    positive = flux > 0
    safe = np.where(positive, flux, 1.0)
    return {"flux": flux, "flux_err": err,
            "mag": np.where(positive, noise.mag(safe), np.nan),
            "mag_err": np.where(positive, 2.5 / np.log(10) * err / safe, np.nan),
            "saturated": noise.saturated(true_flux)}


def _epochs(preset: SurveyPreset, field: int, t0: float, tE: float, window: str):
    if window == "full":
        return preset.all_epochs(field), -1
    season = int(preset.season_of(t0))
    t = preset.epochs(season, field)
    if window == "event":
        half = max(5.0 * tE, 10.0)
        t = t[np.abs(t - t0) <= half]
    return t, season


def simulate_survey(n_events: int, *, preset: str | SurveyPreset = "gbtds-2025", mix="1L1S=0.6,2L1S=0.3,planet=0.1",
                    seed: int = 0, window: str = "season", parallax: bool = False, noise: NoiseModel = W149,
                    progress=None):
    """Simulate ``n_events`` events. Yields ``(obs, meta_row, truth_row)`` per event.

    ``parallax``: parallax with ``|pi_E|`` log-uniform in [0.02, 0.5], a uniform direction,
    and ``t0_par = t0`` (DESIGN.md §3; ``microjax_core.parallax``), seen from Roman at the
    Sun-Earth L2 point (``roman_ephemeris``: the Earth's orbit plus 0.01 AU off the anti-Sun line).

    ``progress``: optional callable ``progress(i)`` called after each event.
    """
    if not isinstance(n_events, (int, np.integer)) or n_events < 1:
        raise ValueError(f"n_events must be a positive integer, got {n_events!r}")
    if window not in WINDOWS:
        raise ValueError(f"window={window!r} is not one of {WINDOWS}")
    preset = get_preset(preset) if isinstance(preset, str) else preset
    mix = parse_mix(mix)
    rng = np.random.default_rng(seed)
    params = draw_events(rng, n_events, mix)
    season = rng.integers(0, preset.n_seasons, n_events)
    starts = preset.season_starts()
    t0 = starts[season] + rng.uniform(5.0, preset.season_days - 5.0, n_events)
    field = rng.integers(0, preset.n_fields, n_events)
    offset_ra = rng.uniform(-0.2, 0.2, n_events)
    offset_dec = rng.uniform(-0.1, 0.1, n_events)
    if parallax:
        size = 10 ** rng.uniform(np.log10(0.02), np.log10(0.5), n_events)
        direction = rng.uniform(0, 2 * np.pi, n_events)
        params["piEN"], params["piEE"] = size * np.cos(direction), size * np.sin(direction)
    for i in range(n_events):
        row = {k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in params.items()}
        row["t0"] = row["t0_par"] = float(t0[i])
        ra, dec = FIELD_CENTRES[int(field[i]) % len(FIELD_CENTRES)]
        row["ra"], row["dec"] = ra + offset_ra[i], dec + offset_dec[i]
        bjd, season_index = _epochs(preset, int(field[i]), row["t0"], row["tE"], window)
        a = light_curve_model(bjd, row)
        fs = float(noise.flux(row["source_mag"]))
        fb = fs * (1.0 / row["source_fraction"] - 1.0)
        obs = {"event_id": np.full(bjd.size, i, np.int64), "bjd": bjd, "band": np.full(bjd.size, "W149")}
        obs.update(observe(fs * a + fb, preset.exposure_s, rng, noise))
        baseline = float(noise.mag(fs + fb))
        meta = {
            "event_id": i, "field": int(field[i]), "ra": row["ra"], "dec": row["dec"],
            "band": "W149", "baseline_mag": baseline, "n_obs": int(bjd.size),
            "bjd_start": float(bjd.min()) if bjd.size else np.nan, "bjd_end": float(bjd.max()) if bjd.size else np.nan,
            "season": season_index, "window": window, "preset": preset.name,
        }
        truth = {"event_id": i, "population": row["population"], "model_type": row["model_type"]}
        truth.update({p: float(row[p]) if p in row else np.nan for p in schema.PARAMETERS})
        truth.update({"t0_par": row["t0_par"], "fs_W149": fs, "fb_W149": fb, "source_mag": float(row["source_mag"]),
                      "blend_fraction": fb / (fs + fb), "baseline_mag": baseline,
                      "max_magnification": float(a.max()) if a.size else np.nan})
        if progress is not None:
            progress(i)
        yield obs, meta, truth


def write_survey(out_dir, n_events: int, *, preset="gbtds-2025", mix="1L1S=0.6,2L1S=0.3,planet=0.1", seed=0,
                 window="season", parallax=False, overwrite=False, events_per_file=100, progress=None) -> dict:
    """Simulate and write ``out_dir/{obs,meta,truth}/part-*.parquet`` and ``manifest.json``."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty; choose another --out or pass --overwrite")
        shutil.rmtree(out)
    preset_obj = get_preset(preset) if isinstance(preset, str) else preset
    mix_parsed = parse_mix(mix)
    start = time.perf_counter()
    buffers = {"obs": [], "meta": [], "truth": []}
    counts: dict[str, int] = {}
    n_obs = 0
    part = 0

    def flush():
        nonlocal part
        if not buffers["meta"]:
            return
        obs = {k: np.concatenate([o[k] for o in buffers["obs"]]) for k in schema.OBS.names}
        write_table(out / "obs" / f"part-{part:05d}.parquet", schema.table(obs, schema.OBS))
        for name, sch in (("meta", schema.META), ("truth", schema.TRUTH)):
            cols = {k: [r[k] for r in buffers[name]] for k in sch.names}
            write_table(out / name / f"part-{part:05d}.parquet", schema.table(cols, sch))
        for v in buffers.values():
            v.clear()
        part += 1

    for obs, meta, truth in simulate_survey(n_events, preset=preset_obj, mix=mix_parsed, seed=seed, window=window,
                                            parallax=parallax, progress=progress):
        buffers["obs"].append(obs)
        buffers["meta"].append(meta)
        buffers["truth"].append(truth)
        counts[truth["population"]] = counts.get(truth["population"], 0) + 1
        n_obs += meta["n_obs"]
        if len(buffers["meta"]) >= events_per_file:
            flush()
    flush()
    from importlib.metadata import PackageNotFoundError, version

    try:
        package_version = version("microjax-survey")
    except PackageNotFoundError:  # running from a source tree
        package_version = "source"
    manifest = {
        "kind": "microjax-survey simulated survey", "schema_version": schema.SCHEMA_VERSION,
        "preset": asdict(preset_obj), "seed": seed, "window": window, "parallax": bool(parallax), "mix": mix_parsed,
        "n_events": n_events, "counts": counts, "n_obs": n_obs, "package_version": package_version,
        "wall_time_s": round(time.perf_counter() - start, 3),
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_bytes(out / "manifest.json", json.dumps(manifest, indent=2).encode())
    return manifest


def read_manifest(survey_dir) -> dict:
    """The survey's ``manifest.json``; refuses a missing one or another schema version."""
    root = Path(survey_dir)
    manifest_path = root / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{root} is not a simulated survey (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{manifest_path}: corrupt manifest ({exc})") from None
    if manifest.get("schema_version") != schema.SCHEMA_VERSION:
        raise ValueError(f"{root}: schema version {manifest.get('schema_version')} is not "
                         f"{schema.SCHEMA_VERSION} (written by another version of microjax-survey)")
    return manifest


def read_survey(survey_dir):
    """``(obs, meta, truth, manifest)`` as pandas DataFrames (+ dict) from a survey directory."""
    root = Path(survey_dir)
    manifest = read_manifest(root)
    tables = [pq.read_table(root / name, schema=sch).to_pandas()
              for name, sch in (("obs", schema.OBS), ("meta", schema.META), ("truth", schema.TRUTH))]
    return (*tables, manifest)
