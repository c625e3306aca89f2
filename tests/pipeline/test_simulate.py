"""Survey simulator: cadence presets, noise model, populations, light curves, Parquet output."""
import jax.numpy as jnp
import numpy as np
import pytest

import microjax_core as mc
from pipeline import schema
from pipeline.ephemeris import roman_ephemeris
from pipeline.simulate import PRESETS, W149, get_preset, parse_mix, read_survey, write_survey
from pipeline.simulate.survey import BLOCK, observe


@pytest.mark.parametrize("name, days, cadence, exposure, fields", [
    ("gbtds-2025", 70.0, 12.1, 66.9, 6),
    ("cycle7", 72.0, 15.16, 46.8, 7),
])
def test_preset_cadence_seasons_and_counts(name, days, cadence, exposure, fields):
    p = get_preset(name)
    assert (p.n_seasons, p.season_days, p.cadence_min, p.exposure_s, p.n_fields) == (6, days, cadence, exposure, fields)
    for season in range(6):
        t = p.epochs(season, field=fields - 1)
        np.testing.assert_allclose(np.diff(t) * 1440, cadence, rtol=1e-6)  # BJD float64 spacing ~ 4e-5 s
        assert len(t) == int(days * 1440 // cadence)
        assert t[-1] - t[0] <= days
    starts = p.season_starts()
    gaps = starts[1:] - (starts[:-1] + days)
    assert np.all(gaps > 100)  # seasons separated by the bulge's invisibility
    assert len(p.all_epochs()) == 6 * int(days * 1440 // cadence)


def test_quoted_precision_at_21_15():
    """Penny et al. (2019): 0.01 mag at W149 ~ 21.15 for the 46.8 s cycle-7 exposures."""
    assert W149.mag_error(21.15, 46.8) == pytest.approx(0.01, rel=0.05)


@pytest.mark.parametrize("mag", [16.0, 19.0, 21.15, 23.0])
def test_constant_star_scatter_matches_the_quoted_sigma(mag):
    rng = np.random.default_rng(3)
    flux = np.full(40000, W149.flux(mag))
    m = observe(flux, 46.8, rng)["mag"]
    assert np.nanstd(m) == pytest.approx(W149.mag_error(mag, 46.8), rel=0.05)


def test_saturation_flag():
    assert observe(np.array([W149.flux(14.0), W149.flux(15.5)]), 46.8, np.random.default_rng(0))["saturated"].tolist() \
        == [True, False]


@pytest.mark.parametrize("text, message", [
    ("1L1S=0.5,moon=0.5", "unknown event class 'moon'"),
    ("1L1S", "is not CLASS=FRACTION"),
    ("1L1S=lots", "is not a number"),
    ("1L1S=-1", "must be a finite number >= 0"),
    ("1L1S=0", "has no positive fraction"),
])
def test_bad_mix_is_named(text, message):
    with pytest.raises(ValueError, match=message):
        parse_mix(text)


def test_unknown_preset_is_named():
    with pytest.raises(ValueError, match="unknown survey preset 'gbtds-2099'"):
        get_preset("gbtds-2099")


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    out = tmp_path_factory.mktemp("survey")
    manifest = write_survey(out, 6, mix="1L1S=0.5,planet=0.5", seed=7, window="event", events_per_file=4)
    return out, manifest


def test_written_tables_follow_the_schema(survey):
    out, manifest = survey
    obs, meta, truth, m = read_survey(out)
    assert m == manifest and manifest["n_events"] == 6 and sum(manifest["counts"].values()) == 6
    assert sorted(truth["event_id"]) == list(range(6)) and sorted(meta["event_id"]) == list(range(6))
    assert len(obs) == manifest["n_obs"] == meta["n_obs"].sum()
    assert set(truth.columns) == set(schema.TRUTH.names) and set(obs.columns) == set(schema.OBS.names)
    for eid, g in obs.groupby("event_id"):
        t0, tE = truth.set_index("event_id").loc[eid, ["t0", "tE"]]
        assert np.all(np.abs(g["bjd"] - t0) <= max(5 * tE, 10) + 1e-9)  # the "event" window


def test_light_curves_are_fs_A_plus_fb_plus_noise(survey):
    """Recompute A(t) from the truth with microjax_core.magnification: normalised residuals ~ N(0, 1)."""
    out, _ = survey
    obs, _, truth, _ = read_survey(out)
    for _, t in truth.iterrows():
        o = obs[obs["event_id"] == t["event_id"]]
        w = mc.source_trajectory(jnp.asarray(o["bjd"].to_numpy()), t["t0"], t["tE"], t["u0"], t["alpha"])
        lens = mc.PointLens() if t["model_type"] == "1L1S" else mc.BinaryLens(float(t["s"]), float(t["q"]))
        # in one padded call (far from the lens), where the simulator evaluates BLOCK points at a time
        size = BLOCK * -(-w.size // BLOCK)
        padded = jnp.concatenate([w, jnp.full(size - w.size, 1e3 + 0j)])
        a = np.asarray(mc.magnification(padded, lens, float(t["rho"])))[:w.size]
        pull = (o["flux"].to_numpy() - (t["fs_W149"] * a + t["fb_W149"])) / o["flux_err"].to_numpy()
        assert abs(np.mean(pull)) < 5 / np.sqrt(len(pull)) and np.std(pull) == pytest.approx(1.0, abs=0.05)
        assert t["max_magnification"] == pytest.approx(a.max(), rel=1e-9)


def test_reproducible_from_the_seed(tmp_path, survey):
    out, _ = survey
    again = write_survey(tmp_path / "again", 6, mix="1L1S=0.5,planet=0.5", seed=7, window="event", events_per_file=4)
    a, b = read_survey(out), read_survey(tmp_path / "again")
    assert again["counts"] == b[3]["counts"]
    np.testing.assert_array_equal(a[0]["flux"].to_numpy(), b[0]["flux"].to_numpy())


def test_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "x.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        write_survey(tmp_path, 1, mix="1L1S=1")
    assert (tmp_path / "x.txt").read_text() == "keep me"


def test_presets_listed():
    assert set(PRESETS) == {"gbtds-2025", "cycle7"}


def test_parallax_events_follow_the_parallax_trajectory(tmp_path):
    write_survey(tmp_path, 3, mix="1L1S=1", seed=5, window="event", parallax=True)
    obs, meta, truth, manifest = read_survey(tmp_path)
    assert manifest["parallax"] and np.all(np.hypot(truth["piEN"], truth["piEE"]) > 0.019)
    assert np.all(truth["t0_par"] == truth["t0"])
    for _, t in truth.iterrows():
        m = meta.set_index("event_id").loc[t["event_id"]]
        o = obs[obs["event_id"] == t["event_id"]]
        bjd = jnp.asarray(o["bjd"].to_numpy())
        eph = roman_ephemeris(o["bjd"].to_numpy())  # seen from L2
        offsets = mc.parallax_offsets(bjd, m["ra"], m["dec"], t["t0_par"], observer=(eph.t, eph.xyz))
        w = mc.trajectory_with_parallax(bjd, t["t0"], t["tE"], t["u0"], t["alpha"], t["piEN"], t["piEE"], offsets)
        a = np.asarray(mc.magnification(w, mc.PointLens(), t["rho"]))
        pull = (o["flux"].to_numpy() - (t["fs_W149"] * a + t["fb_W149"])) / o["flux_err"].to_numpy()
        assert np.std(pull) == pytest.approx(1.0, abs=0.05)
