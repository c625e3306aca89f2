"""Uniform-source contour integration (``microjax_core.contour``) against VBMicrolensing.

References: VBMicrolensing ``BinaryMag``/``MultiMag`` at Tol = RelTol = 1e-8, >= 10x tighter
than every bound asserted here. Measured on the benchmark's four uniform curves
(benchmarks/RESULTS.md): the points the contour trusts are within 3e-5, most within 1e-9.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import microjax_core as mc
from microjax_core.contour import contour_magnification

from .. import reference as ref
from .test_icrs import _central_track, _vb_binary, _vb_gradient


def _planetary_track(s=1.3, q=1e-3, n=48):
    x0 = -s * q / (1 + q) + (s - 1 / s)  # the planetary caustic, s - 1/s from the primary
    return x0 + np.linspace(-0.03, 0.03, n) + 1j * np.linspace(-0.008, 0.012, n)


@pytest.mark.parametrize("track, s, q, rho", [
    ("central", 1.0, 0.01, 1e-2),
    ("central", 1.0, 0.01, 1e-3),
    ("planetary", 1.3, 1e-3, 1e-3),
])
def test_trusted_points_match_vbmicrolensing(track, s, q, rho):
    w = _central_track(48) if track == "central" else _planetary_track(s, q)  # one shape: one compilation
    got, ok = map(np.asarray, contour_magnification(jnp.asarray(w), mc.BinaryLens(s, q), rho, tol=1e-3))
    err = np.abs(got / _vb_binary(w, rho, s=s, q=q) - 1)
    assert ok.mean() > 0.6, ok.mean()  # most points: not a method that trusts nothing
    assert err[ok].max() < 1e-4, (err[ok].max(), w[ok][np.argmax(err[ok])])


def test_trust_test_rejects_an_unresolved_quadrature():
    """With 4 intervals of 8 nodes the sharp parts of the integrand are not resolved: the points
    where that costs more than 1e-4 must all be flagged (the caller then falls back)."""
    w = _central_track(48)
    got, ok = map(np.asarray, contour_magnification(jnp.asarray(w), mc.BinaryLens(1.0, 0.01), 1e-2, n_intervals=4,
                                                    tol=1e-3))
    err = np.abs(got / _vb_binary(w, 1e-2) - 1)
    assert np.sum(err > 1e-4) >= 2  # the coarse rule does go wrong here (3 points measured) ...
    assert not np.any(ok & (err > 1e-4)), err[ok].max()  # ... and never where it is trusted


def test_triple_lens_trusted_points_match_vbmicrolensing_multimag():
    lens = mc.TripleLens(1.0, 0.01, 1.2, 1e-3, 0.8)
    tau = np.linspace(-0.4, 0.4, 60)[15:39]
    a = np.deg2rad(30.0)
    w = (tau * np.cos(a) - 0.02 * np.sin(a)) + 1j * (0.02 * np.cos(a) + tau * np.sin(a))
    vb = ref.vbm()
    vb.Tol, vb.RelTol = 1e-8, 1e-8
    ref.vb_set_geometry(vb, np.asarray(lens.positions()), np.asarray(lens.masses()))
    expected = np.array([vb.MultiMag(x.real, x.imag, 1e-2) for x in w])
    got, ok = map(np.asarray, contour_magnification(jnp.asarray(w), lens, 1e-2, tol=1e-3))
    err = np.abs(got / expected - 1)
    assert ok.mean() > 0.6, ok.mean()
    assert err[ok].max() < 1e-4, err[ok].max()


def _ours(p):
    s, q, x, y, rho = p
    return contour_magnification(x + 1j * y, mc.BinaryLens(s, q), rho, tol=1e-3)


@pytest.mark.parametrize("point", [
    (1.0, 0.01, 0.05, 0.0088, 1e-2),  # the limb crosses the central caustic
    (1.3, 1e-3, 0.5, -0.004, 1e-3),  # ... a planetary caustic
])
def test_gradients_match_finite_differences_of_vbmicrolensing(point):
    p0 = np.array(point)
    value, grad = jax.value_and_grad(lambda p: _ours(p)[0])(jnp.asarray(p0))
    assert bool(_ours(jnp.asarray(p0))[1])
    assert float(value) == pytest.approx(float(_ours(jnp.asarray(p0))[0]), rel=1e-14, abs=0)
    for name, g, fd in zip(["s", "q", "w_x", "w_y", "rho"], np.asarray(grad), _vb_gradient(p0, 1e-10)):
        assert abs(g / fd - 1) < 2e-3, (name, g, fd)


def test_magnification_uses_the_contour_for_uniform_sources_and_stays_within_target():
    """``magnification`` (auto) on the central track: where neither the point source nor the
    multipole will do, the contour's value where it is trusted (ICRS differs from it by >= 7e-8
    there, so equality shows the tier ran), ICRS elsewhere."""
    w = jnp.asarray(_central_track(48))
    lens = mc.BinaryLens(1.0, 0.01)
    got = np.asarray(mc.magnification(w, lens, 1e-2))
    _, caustics = mc.critical_curves_and_caustics(lens, n_points=1000)
    near = mc.caustic_distance(w, caustics) <= 100 * 1e-2
    need = np.asarray(near & ~mc.multipole_is_valid(w, caustics, 1e-2, mc.multipole_terms(w, lens, 1e-2)))
    contour, ok = map(np.asarray, contour_magnification(w, lens, 1e-2, tol=1e-3))
    assert (need & ok).sum() >= 20
    np.testing.assert_allclose(got[need & ok], contour[need & ok], rtol=1e-12)
    err = np.abs(got / _vb_binary(np.asarray(w), 1e-2) - 1)
    assert err.max() < 1e-3
