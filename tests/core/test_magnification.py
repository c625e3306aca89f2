"""``magnification``: dispatch (point / FSPL / multipole / ICRS), accuracy on a light curve, errors."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import microjax_core as mc

from .. import reference as ref


def _track(n):
    tau = np.linspace(-1, 1, n)
    a = np.deg2rad(10.0)
    return tau * np.cos(a) + 1j * tau * np.sin(a)


def test_zero_rho_is_the_point_source():
    w = jnp.asarray(_track(50))
    lens = mc.BinaryLens(1.0, 0.01)
    np.testing.assert_array_equal(np.asarray(mc.magnification(w, lens)),
                                  np.asarray(mc.point_source_magnification(w, lens)))


def test_point_lens_uses_the_single_lens_finite_source_integral():
    w = jnp.asarray([0.001 + 0j, 0.02 + 0.01j])
    got = mc.magnification(w, mc.PointLens(), 0.01, mc.LinearLD(0.4))
    np.testing.assert_array_equal(np.asarray(got),
                                  np.asarray(mc.single_lens_finite_source_magnification(w, 0.01, mc.LinearLD(0.4))))


def test_auto_light_curve_matches_vbmicrolensing():
    """The issue's reference curve (s = 1, q = 0.01, u0 = 0, alpha = 10 deg), rho = 1e-2."""
    s, q, rho = 1.0, 0.01, 1e-2
    w = _track(160)
    got = np.asarray(mc.magnification(jnp.asarray(w), mc.BinaryLens(s, q), rho))
    vb = ref.vbm()
    vb.Tol, vb.RelTol = 1e-8, 1e-8
    expected = np.array([vb.BinaryMag(s, q, x.real, x.imag, rho, 1e-8) for x in w])
    err = np.abs(got / expected - 1)
    assert err.max() < 6e-3, (err.max(), w[np.argmax(err)])
    assert np.median(err) < 1e-4
    # far from the caustic the multipole branch is used and is accurate
    assert np.median(err[np.abs(w) > 0.5]) < 1e-6


@pytest.mark.slow  # ~2 min on 2 cores (the auto tier's reverse-mode compile); run with -m slow
def test_forced_icrs_agrees_with_auto_and_gradients_flow():
    w = jnp.asarray(_track(24)[8:16])
    lens = mc.BinaryLens(1.0, 0.01)
    auto = np.asarray(mc.magnification(w, lens, 1e-2, chunk_size=4))
    icrs = np.asarray(mc.magnification(w, lens, 1e-2, method="icrs", chunk_size=4))
    np.testing.assert_allclose(auto, icrs, rtol=6e-3)

    def chi(rho):
        return jnp.sum(mc.magnification(w, lens, rho, chunk_size=4))

    value, grad = jax.value_and_grad(chi)(1e-2)
    assert float(value) == pytest.approx(float(np.sum(auto)), rel=1e-12)
    h = 1e-6
    fd = (chi(1e-2 + h) - chi(1e-2 - h)) / (2 * h)
    assert float(grad) == pytest.approx(float(fd), rel=2e-2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(rho=-0.1), "rho must be one finite number >= 0"),
    (dict(rho=float("nan")), "rho must be one finite number >= 0"),
    (dict(rho=0.01, method="sideways"), "method='sideways' is not one of"),
    (dict(rho=0.01, accuracy="extreme"), "accuracy='extreme' is not one of"),
    (dict(rho=0.01, icrs_settings={"n_rays": 5}), "unknown ICRS settings"),
])
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mc.magnification(jnp.asarray([0.1 + 0j]), mc.BinaryLens(1.0, 0.01), **kwargs)


def test_rejects_a_non_lens():
    with pytest.raises(TypeError, match="lens must be"):
        mc.magnification(jnp.asarray([0.1 + 0j]), (1.0, 0.01), 0.01)
