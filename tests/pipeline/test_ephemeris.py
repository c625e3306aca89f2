"""Space-observer parallax: ephemeris tables, and light curves seen from Spitzer against VBMicrolensing's.

VBMicrolensing ships JPL Horizons tables of Spitzer (``satellite1.txt``) and Kepler (``satellite2.txt``)
with the coordinates of OGLE-2015-BLG-1212; its ``satellite = k`` light curves are the reference.
"""
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import VBMicrolensing

import microjax_core as mc
from pipeline.ephemeris import (L2_DISTANCE_AU, Ephemeris, EphemerisError, read_ephemeris, sun_earth_l2,
                                write_ephemeris)
from pipeline.fit import Dataset
from pipeline.fit.objective import pack

VB_DATA = Path(VBMicrolensing.__file__).parent / "data"
HJD0 = 2450000.0


def _coords():
    ra_text, dec_text = (VB_DATA / "OB151212coords.txt").read_text().split()
    h, m, s = (float(x) for x in ra_text.split(":"))
    d, dm, ds = (abs(float(x)) for x in dec_text.split(":"))
    return 15 * (h + m / 60 + s / 3600), (-1 if dec_text.startswith("-") else 1) * (d + dm / 60 + ds / 3600)


def _vb(satellite, t0_par):
    vb = VBMicrolensing.VBMicrolensing()
    vb.SetObjectCoordinates(str(VB_DATA / "OB151212coords.txt"), str(VB_DATA) + "/")
    vb.parallaxsystem, vb.t0_par_fixed, vb.t0_par, vb.satellite = 1, 1, t0_par - HJD0, satellite
    return vb


@pytest.mark.parametrize("satellite", [1, 2])
def test_light_curve_seen_from_space_matches_vbmicrolensing(satellite):
    eph = read_ephemeris(VB_DATA / f"satellite{satellite}.txt")  # Horizons: JD, RA, Dec, distance
    ra, dec = _coords()
    t0, te, u0, pi_n, pi_e = 2457200.3, 30.0, 0.1, 0.3, -0.2
    t = np.linspace(t0 - 2 * te, t0 + 2 * te, 300)
    expected = np.array(_vb(satellite, t0).PSPLLightCurveParallax([u0, np.log(te), t0 - HJD0, pi_n, pi_e],
                                                                   list(t - HJD0))[0])
    ground = np.array(_vb(0, t0).PSPLLightCurveParallax([u0, np.log(te), t0 - HJD0, pi_n, pi_e],
                                                        list(t - HJD0))[0])
    off = mc.parallax_offsets(jnp.asarray(t), ra, dec, t0, observer=(jnp.asarray(eph.t), jnp.asarray(eph.xyz)))
    w = mc.trajectory_with_parallax(jnp.asarray(t), t0, te, u0, 0.0, pi_n, pi_e, off)
    got = np.asarray(mc.point_source_magnification(w, mc.PointLens()))
    assert np.abs(ground / expected - 1).max() > 0.1  # the observer matters here: the test can fail
    # measured 5.0e-5 (Spitzer: A_max 2.3 from space, 10 from the Earth) and 4.6e-5 (Kepler: A_max 3.3);
    # our Sun is the low-precision one (VBMicrolensing reads a Horizons table)
    assert np.abs(got / expected - 1).max() < 5e-4


def test_plain_table_round_trip_and_l2_model(tmp_path):
    eph = sun_earth_l2(2461000.0, 2461100.0)
    assert np.allclose(np.linalg.norm(eph.xyz, axis=1), L2_DISTANCE_AU)
    sun = np.asarray(mc.sun_position(jnp.asarray(eph.t)))
    cos = np.sum(eph.xyz * sun, axis=1) / np.linalg.norm(eph.xyz, axis=1) / np.linalg.norm(sun, axis=1)
    assert np.allclose(cos, -1)  # on the anti-Sun line
    back = read_ephemeris(write_ephemeris(eph, tmp_path / "roman.txt"))
    np.testing.assert_allclose(back.t, eph.t, atol=1e-6)
    np.testing.assert_allclose(back.xyz, eph.xyz, atol=1e-9)


def test_pack_uses_the_observer_and_checks_its_coverage():
    t = np.linspace(2461120.0, 2461180.0, 50)  # March-May 2026, a bulge season: the Sun is 60-90 deg away
    d = Dataset("roman", "W149", t, np.ones_like(t), np.full_like(t, 0.01))
    eph = sun_earth_l2(2461100.0, 2461200.0)
    ra, dec = 268.0, -29.0
    earth = np.asarray(pack([d], ra=ra, dec=dec, t0_par=2461150.0).offsets)[0, :, :50]
    space = np.asarray(pack([Dataset(**{**d.__dict__, "observer": eph})], ra=ra, dec=dec,
                            t0_par=2461150.0).offsets)[0, :, :50]
    shift = np.hypot(*(space - earth))
    assert np.all(shift > 0.5 * L2_DISTANCE_AU) and np.all(shift <= L2_DISTANCE_AU * (1 + 1e-9))
    short = Ephemeris("short", eph.t[:10], eph.xyz[:10])
    with pytest.raises(ValueError, match="dataset roman: times .* fall outside the ephemeris short"):
        pack([Dataset(**{**d.__dict__, "observer": short})], ra=ra, dec=dec, t0_par=2461150.0)


@pytest.mark.parametrize("text, message", [
    ("2461000 0.01 0 0\n", "1 ephemeris rows; at least 2 are needed"),
    ("2461000 0.01 0 0\n2461001 0.01 zero 0\n", "line 2: 'zero' is not a number"),
    ("2461000 0.01 0 0\n2461001 0.01 0\n", "line 2: expected 4 numbers, found 3"),
    ("2461001 0.01 0 0\n2461000 0.01 0 0\n", "line 2: times must increase"),
    ("# km, not AU\n2461000 1.5e6 0 0\n2461001 1.5e6 0 0\n", "line 2: observer more than 10 AU from the Earth"),
    ("$$SOE\n2461000 10.0 -5.0 nan 0\n$$EOE\n", "line 2: not finite"),
])
def test_bad_ephemeris_files_are_named(tmp_path, text, message):
    path = tmp_path / "eph.txt"
    path.write_text(text)
    with pytest.raises(EphemerisError, match=message):
        read_ephemeris(path)
    with pytest.raises(EphemerisError, match="no such file"):
        read_ephemeris(tmp_path / "missing.txt")


def test_ground_and_spitzer_data_are_fitted_with_one_trajectory_each():
    """Two datasets of one event (the Earth and Spitzer, simulated with VBMicrolensing plus 1% noise): the
    packed fit data give chi^2 ~ N at the truth only when the Spitzer dataset carries its ephemeris."""
    from pipeline.fit.models import ModelSpec
    from pipeline.fit.objective import chi2_function

    eph = read_ephemeris(VB_DATA / "satellite1.txt")
    ra, dec = _coords()
    t0, te, u0, pi_n, pi_e = 2457200.3, 30.0, 0.1, 0.3, -0.2
    rng = np.random.default_rng(3)
    sets = []
    for sat, name in ((0, "ground"), (1, "spitzer")):
        t = np.sort(rng.uniform(t0 - 2 * te, t0 + 2 * te, 200))
        a = np.array(_vb(sat, t0).PSPLLightCurveParallax([u0, np.log(te), t0 - HJD0, pi_n, pi_e], list(t - HJD0))[0])
        flux = 1.0 * a + 0.2
        err = 0.01 * flux
        sets.append(Dataset(name, "I", t, flux + err * rng.standard_normal(t.size), err,
                            observer=eph if sat else None))
    spec = ModelSpec("1L1S", parallax=True)
    theta = np.array([t0, np.log(te), u0, pi_n, pi_e])
    chi2 = chi2_function(spec)
    with_eph = float(chi2(jnp.asarray(theta), pack(sets, ra=ra, dec=dec, t0_par=t0)))
    sets[1].observer = None
    without = float(chi2(jnp.asarray(theta), pack(sets, ra=ra, dec=dec, t0_par=t0)))
    assert with_eph < 400 * 1.3 and without > 50 * with_eph, (with_eph, without)  # measured 392 and 30,132


def test_simulated_roman_events_are_seen_from_l2_by_simulator_and_fit_alike():
    """A simulated parallax event: the survey's datasets carry the L2 ephemeris, and the fit's model at the
    truth reproduces the simulator's fluxes (chi^2 ~ N); the geocentric model does worse."""
    import pandas as pd

    from pipeline.fit import datasets_from_survey
    from pipeline.fit.models import ModelSpec
    from pipeline.fit.objective import chi2_function
    from pipeline.simulate import simulate_survey

    obs, meta, truth = next(iter(simulate_survey(1, mix="1L1S=1", seed=11, window="event", parallax=True)))
    datasets = datasets_from_survey(pd.DataFrame(obs))
    assert all(d.observer is not None and d.observer.covers(d.t) for d in datasets)
    spec = ModelSpec("1L1S", finite_source=True, parallax=True)
    theta = jnp.asarray([truth["t0"], np.log(truth["tE"]), truth["u0"], np.log(truth["rho"]), truth["piEN"],
                         truth["piEE"]])
    chi2 = chi2_function(spec)
    n = sum(len(d) for d in datasets)
    kw = dict(ra=float(meta["ra"]), dec=float(meta["dec"]), t0_par=truth["t0_par"])
    at_l2 = float(chi2(theta, pack(datasets, **kw)))
    for d in datasets:
        d.observer = None
    geocentric = float(chi2(theta, pack(datasets, **kw)))
    assert abs(at_l2 - n) < 5 * np.sqrt(2 * n), (at_l2, n)
    assert geocentric > at_l2 + 10, (geocentric, at_l2)  # measured 8,466.6 against 8,435.0 (8,330 points)
