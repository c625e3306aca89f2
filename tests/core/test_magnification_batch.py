"""``magnification_batch``: many events per call, the tiers chosen over the whole batch."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import microjax_core as mc

from .. import reference as ref

S, Q, RHO, U = np.array([1.0, 1.3]), np.array([0.01, 1e-3]), np.array([1e-2, 3e-3]), np.array([0.5, 0.3])


def _tracks(n):
    """Event 0 through the central caustic (the issue's curve), event 1 across the planetary caustic."""
    tau = np.linspace(-1, 1, n)
    a = np.deg2rad(10.0)
    central = tau * np.cos(a) + 1j * tau * np.sin(a)
    s, q = S[1], Q[1]
    xc = -s * q / (1 + q) + (s - 1 / s)
    t2 = np.linspace(-0.08, 0.08, n)
    planet = xc + 0.002 + t2 * np.exp(1j * np.deg2rad(60.0))
    return np.stack([central, planet])


def _batch(w, s=S, q=Q, rho=RHO, u=U):
    return mc.magnification_batch(jnp.asarray(w), mc.BinaryLens(jnp.asarray(s), jnp.asarray(q)), jnp.asarray(rho),
                                  mc.LinearLD(jnp.asarray(u)), chunk_size=8)


def test_two_events_with_their_own_lens_rho_and_limb_darkening_match_vbmicrolensing():
    """Reference: VBMicrolensing's BinaryMagDark (linear LD) at Tol = 1e-8, per event."""
    w = _tracks(40)
    got = np.asarray(_batch(w))
    vb = ref.vbm()
    vb.Tol, vb.RelTol = 1e-8, 1e-8
    for k in range(2):
        vb.a1 = U[k]
        expected = np.array([vb.BinaryMagDark(S[k], Q[k], x.real, x.imag, RHO[k], 1e-8) for x in w[k]])
        err = np.abs(got[k] / expected - 1)
        assert err.max() < 2e-3, (k, err.max(), w[k][np.argmax(err)])
        assert np.median(err) < 1e-4, (k, np.median(err))


@pytest.mark.slow  # ~2 min on 2 cores: compiles magnification and the batch, values and reverse mode
def test_values_and_gradients_are_those_of_magnification_per_event():
    w = _tracks(24)
    got = np.asarray(_batch(w))
    for k in range(2):
        one = mc.magnification(jnp.asarray(w[k]), mc.BinaryLens(S[k], Q[k]), RHO[k], mc.LinearLD(U[k]))
        np.testing.assert_allclose(got[k], np.asarray(one), rtol=1e-11)
    g = jax.grad(lambda r: jnp.sum(_batch(w, rho=r)))(jnp.asarray(RHO))
    g1 = jax.grad(lambda r: jnp.sum(mc.magnification(jnp.asarray(w[1]), mc.BinaryLens(S[1], Q[1]), r,
                                                     mc.LinearLD(U[1]))))(RHO[1])
    np.testing.assert_allclose(float(g[1]), float(g1), rtol=1e-8)


@pytest.mark.parametrize("kwargs, message", [
    (dict(w=np.zeros(3, complex)), "shape \\(events, points\\)"),
    (dict(rho=np.array([1e-2, 0.0])), "rho must be > 0"),
    (dict(rho=np.array([1e-2])), "rho must have shape \\(2,\\)"),
    (dict(s=np.array([1.0, 1.0, 1.0]), q=np.array([0.1, 0.1, 0.1])), "lens.s must have shape \\(2,\\)"),
])
def test_bad_input_is_named(kwargs, message):
    args = dict(w=np.zeros((2, 3), complex), s=S, q=Q, rho=RHO)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        mc.magnification_batch(jnp.asarray(args["w"]), mc.BinaryLens(jnp.asarray(args["s"]), jnp.asarray(args["q"])),
                               jnp.asarray(args["rho"]))


def test_rejects_a_point_lens():
    with pytest.raises(TypeError, match="BinaryLens or TripleLens"):
        mc.magnification_batch(jnp.zeros((1, 2), complex), mc.PointLens(), jnp.asarray([1e-2]))


def test_per_event_limb_darkening_coefficients_are_each_checked():
    mc.LinearLD(jnp.asarray([0.0, 0.5, 1.0]))
    with pytest.raises(ValueError, match="non-negative over the disc"):
        mc.LinearLD(jnp.asarray([0.5, 1.7]))  # 1.7: negative brightness at the limb
