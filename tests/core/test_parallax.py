"""Annual parallax against VBMicrolensing's parallax light curves (north-east system, fixed t0_par)."""
import jax.numpy as jnp
import numpy as np
import pytest

import microjax_core as mc

from .. import reference as ref

COORDS = "17:59:02.3 -29:04:15.2"
RA = (17 + 59 / 60 + 2.3 / 3600) * 15
DEC = -(29 + 4 / 60 + 15.2 / 3600)
HJD0 = 2450000.0  # VBMicrolensing's times are HJD - 2450000


def _vb(t0_par):
    vb = ref.vbm()
    vb.SetObjectCoordinates(COORDS)
    vb.parallaxsystem = 1
    vb.t0_par_fixed = 1
    vb.t0_par = t0_par - HJD0
    return vb


@pytest.mark.parametrize("t0_offset, u0, piEN, piEE, tE, bound", [
    (0.0, 0.1, 0.3, -0.2, 40.0, 4e-4),
    (0.0, -0.05, -0.1, 0.15, 80.0, 1e-3),  # A_max = 20: |dA/A| ~ |du/u|
    (25.0, -0.05, -0.1, 0.15, 80.0, 2e-3),  # t0_par != t0
])
def test_point_lens_parallax_matches_vbmicrolensing(t0_offset, u0, piEN, piEE, tE, bound):
    t0 = 2461900.3
    t0_par = t0 + t0_offset
    t = np.linspace(t0 - 2 * tE, t0 + 2 * tE, 400)
    vb = _vb(t0_par)
    expected = np.array(vb.PSPLLightCurveParallax([u0, np.log(tE), t0 - HJD0, piEN, piEE], list(t - HJD0))[0])
    offsets = mc.parallax_offsets(jnp.asarray(t), RA, DEC, t0_par)
    w = mc.trajectory_with_parallax(jnp.asarray(t), t0, tE, u0, 0.0, piEN, piEE, offsets)
    got = np.asarray(mc.point_source_magnification(w, mc.PointLens()))
    # Measured: 1.2e-4 / 5.5e-4 / 1.2e-3. The low-precision solar ephemeris (~0.01 deg,
    # 1e-4 AU) limits agreement; the extrapolation from t0_par != t0 amplifies it.
    assert np.abs(got / expected - 1).max() < bound


def test_binary_lens_parallax_matches_vbmicrolensing():
    s, q, u0, alpha_ours, tE, piEN, piEE = 1.2, 0.01, 0.08, 0.7, 30.0, 0.25, 0.1
    t0 = 2461900.3
    t = np.linspace(t0 - 1.5 * tE, t0 + 1.5 * tE, 300)
    vb = _vb(t0)
    params = [np.log(s), np.log(q), u0, alpha_ours - np.pi, np.log(1e-4), np.log(tE), t0 - HJD0, piEN, piEE]
    expected = np.array(vb.BinaryLightCurveParallax(params, list(t - HJD0))[0])
    offsets = mc.parallax_offsets(jnp.asarray(t), RA, DEC, t0)
    w = mc.trajectory_with_parallax(jnp.asarray(t), t0, tE, u0, alpha_ours, piEN, piEE, offsets)
    got = np.asarray(mc.point_source_magnification(w, mc.BinaryLens(s, q)))
    err = np.abs(got / expected - 1)
    assert np.median(err) < 1e-4 and err.max() < 2e-3  # VB's rho = 1e-4 source vs our point source


def test_zero_parallax_is_the_rectilinear_trajectory():
    t = jnp.linspace(2461800.0, 2461900.0, 50)
    offsets = mc.parallax_offsets(t, RA, DEC, 2461850.0)
    np.testing.assert_allclose(np.asarray(mc.trajectory_with_parallax(t, 2461850.0, 20.0, 0.1, 0.3, 0.0, 0.0, offsets)),
                               np.asarray(mc.source_trajectory(t, 2461850.0, 20.0, 0.1, 0.3)), rtol=0, atol=1e-13)
