"""Finite-source single lens (FSPL): analytic limits, an independent 2-D quadrature, VBMicrolensing."""
import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
from jax.test_util import check_grads

from microjax_core.limb_darkening import LinearLD, QuadraticLD, SquareRootLD, UniformSource, as_profile
from microjax_core.single_lens_finite_source import single_lens_finite_source_magnification as fspl

from .. import reference as ref


def _aps(x):
    return (x * x + 2) / (x * mp.sqrt(x * x + 4))


def _mp_fspl_outside(u, rho, law):
    """Brute-force 2-D adaptive quadrature over the disc (source-centred polar), u > rho only."""
    with mp.workdps(20):
        u, rho = mp.mpf(u), mp.mpf(rho)

        def inner(phi):
            def f(r):
                mu = mp.sqrt(1 - r * r / rho**2)
                return law(mu) * _aps(mp.sqrt(u * u + r * r + 2 * u * r * mp.cos(phi))) * r
            return mp.quad(f, [0, rho])

        return float(2 * mp.quad(inner, [0, mp.pi / 2, mp.pi]) / (mp.pi * rho**2))


def _mp_fspl_centred(rho, law):
    """Source centred on the lens: a 1-D radial integral."""
    with mp.workdps(20):
        rho = mp.mpf(rho)
        return float(2 * mp.quad(lambda r: law(mp.sqrt(1 - r * r / rho**2)) * _aps(r) * r, [0, rho]) / rho**2)


LAWS = {
    "uniform": (None, lambda mu: 1),
    "linear": (LinearLD(0.5), lambda mu: (1 - 0.5 * (1 - mu)) / (1 - 0.5 / 3)),
    "quadratic": (QuadraticLD(0.4, 0.25), lambda mu: (1 - 0.4 * (1 - mu) - 0.25 * (1 - mu) ** 2) / (1 - 0.4 / 3 - 0.25 / 6)),
    "sqrt": (SquareRootLD(0.3, 0.4), lambda mu: (1 - 0.3 * (1 - mu) - 0.4 * (1 - mp.sqrt(mu))) / (1 - 0.3 / 3 - 0.4 / 5)),
}


@pytest.mark.parametrize("rho", [0.1, 0.01, 1e-3])
def test_uniform_analytic_limits(rho):
    # u = 0: A = sqrt(1 + 4/rho^2); u = rho: A = (2/(pi rho)) (1 + (1+rho^2)/rho * asin(rho/sqrt(1+rho^2)))
    # (both from the Lee et al. 2009 chord integral evaluated in closed form)
    centred = np.sqrt(1 + 4 / rho**2)
    on_limb = 2 / (np.pi * rho) * (1 + (1 + rho**2) / rho * np.arcsin(rho / np.sqrt(1 + rho**2)))
    A = np.asarray(fspl(jnp.asarray([0j, rho + 0j]), rho))
    np.testing.assert_allclose(A, [centred, on_limb], rtol=1e-12)


@pytest.mark.parametrize("name", sorted(LAWS))
def test_against_independent_quadrature(name):
    ld, law = LAWS[name]
    # Gauss-Legendre meets sqrt(mu)'s infinite slope at the limb: ~n^-3 convergence
    # (5e-7 at the default 16 chord nodes, 7e-8 at 24)
    rtol = 1e-6 if name == "sqrt" else 1e-10
    rho = 0.05
    for u in [1.05 * rho, 1.3 * rho, 3.0 * rho]:
        np.testing.assert_allclose(float(fspl(jnp.asarray(u + 0j), rho, ld)), _mp_fspl_outside(u, rho, law), rtol=rtol)
    np.testing.assert_allclose(float(fspl(jnp.asarray(0j), rho, ld)), _mp_fspl_centred(rho, law), rtol=rtol)


@pytest.mark.parametrize("rho", [0.1, 0.01, 1e-3, 1e-4])
def test_against_vbmicrolensing(rho):
    """At VBMicrolensing's own accuracy: its ESPLMag2 is off by up to 8e-5 for 1 < u/rho < 3
    even at Tol = 1e-9 (shown against the 2-D quadrature in
    ``test_vbmicrolensing_fspl_is_the_less_accurate_side``); ours matches that quadrature to 1e-10."""
    vb = ref.vbm()
    vb.Tol = vb.RelTol = 1e-9
    u = np.concatenate([np.linspace(0.05, 2.95, 30) * rho, np.geomspace(3 * rho, 2.0, 10)])
    ours = np.asarray(fspl(jnp.asarray(u + 0j), rho))
    theirs = np.array([vb.ESPLMag2(x, rho) for x in u])
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    vb.Tol = vb.RelTol = 1e-6
    vb.a1 = 0.5
    ours = np.asarray(fspl(jnp.asarray(u + 0j), rho, LinearLD(0.5)))
    theirs = np.array([vb.ESPLMagDark(x, rho) for x in u])
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)


def test_vbmicrolensing_fspl_is_the_less_accurate_side():
    vb = ref.vbm()
    vb.Tol = vb.RelTol = 1e-9
    rho, u = 0.1, 0.105
    truth = _mp_fspl_outside(u, rho, lambda mu: 1)
    assert abs(float(fspl(jnp.asarray(u + 0j), rho)) / truth - 1) < 1e-12
    assert abs(vb.ESPLMag2(u, rho) / truth - 1) > 1e-5


def test_small_source_tends_to_point_source():
    u = np.array([0.05, 0.3, 1.0])
    point = (u**2 + 2) / (u * np.sqrt(u**2 + 4))
    np.testing.assert_allclose(np.asarray(fspl(jnp.asarray(u + 0j), 1e-5, LinearLD(0.6))), point, rtol=1e-8)


def test_unlensed_limit_normalisation():
    """Far from the lens every law gives A -> A_ps(u): the brightness integrates to one."""
    u = 30.0
    point = (u**2 + 2) / (u * np.sqrt(u**2 + 4))
    for ld, _ in LAWS.values():
        np.testing.assert_allclose(float(fspl(jnp.asarray(u + 0j), 0.5, ld)), point, rtol=1e-6)


def test_gradients_in_u_rho_and_ld():
    def f(u, rho, c):
        return fspl(u + 0j, rho, LinearLD(c))

    for u in [0.003, 0.012, 0.05]:  # inside, near the limb, outside for rho = 0.01
        check_grads(f, (u, 0.01, 0.5), order=1, modes=["fwd", "rev"], eps=1e-7, atol=1e-6, rtol=1e-6)


def test_value_and_grad_returns_the_forward_value():
    f = lambda rho: fspl(jnp.asarray(0.004 + 0.003j), rho, QuadraticLD(0.3, 0.2))  # noqa: E731
    v, g = jax.value_and_grad(f)(0.01)
    # equal up to rounding (no surrogate under autodiff)
    np.testing.assert_allclose(float(v), float(f(0.01)), rtol=1e-14)
    assert np.isfinite(g)


@pytest.mark.parametrize("name", ["uniform", "quadratic", "sqrt"])
def test_far_points_by_the_hexadecapole_agree_with_the_quadrature(name):
    """A light curve of 12,000 points: the quadrature on the points within 10 rho, the hexadecapole elsewhere,
    against the quadrature on every point (``n_near`` = all): values within 3e-8, derivatives in w, rho and the
    coefficients within 1e-6 (the series' next term, Gould 2008), for each static size of the near set (1,500,
    6,000, all)."""
    ld = LAWS[name][0]
    coeffs = [] if ld is None else list(jax.tree_util.tree_leaves(ld))
    rebuild = (lambda c: None) if ld is None else (lambda c: type(ld)(*c))
    # the square-root law's quadrature is itself good to ~5e-7 only (sqrt(mu) at the limb: see above)
    tol = 1e-6 if name == "sqrt" else 3e-8
    w = jnp.asarray(np.linspace(-4, 4, 12000) + 0.002j)
    for rho, (lo, hi) in ((0.003, (0, 1500)), (0.1, (1500, 6000)), (0.3, (6000, 12000))):
        assert lo < np.sum(np.abs(np.asarray(w)) < 10 * rho) <= hi  # which branch runs
        fast = np.asarray(fspl(w, rho, ld))
        full = np.asarray(fspl(w, rho, ld, n_near=w.size))
        np.testing.assert_allclose(fast, full, rtol=tol)

        def chi2(x, r, c, n_near):  # a weighted sum, so every point's derivative counts
            return jnp.sum(jnp.sin(jnp.arange(w.size)) * fspl(w * x, r, rebuild(c), n_near=n_near))

        args = (1.0, rho, [jnp.asarray(c) for c in coeffs])
        g_fast = jax.grad(chi2, argnums=(0, 1, 2))(*args, None)
        g_full = jax.grad(chi2, argnums=(0, 1, 2))(*args, w.size)
        for a, b in zip(jax.tree_util.tree_leaves(g_fast), jax.tree_util.tree_leaves(g_full)):
            np.testing.assert_allclose(float(a), float(b), rtol=max(1e-6, 10 * tol), atol=100 * tol)


def test_bad_input():
    with pytest.raises(ValueError, match="rho must be > 0"):
        fspl(jnp.asarray(0.1 + 0j), 0.0)
    with pytest.raises(TypeError, match="limb_darkening must be None"):
        fspl(jnp.asarray(0.1 + 0j), 0.01, 0.5)
    assert isinstance(as_profile(None), UniformSource)
    with pytest.raises(ValueError, match="non-negative"):
        LinearLD(1.5)  # negative brightness at the limb
    with pytest.raises(ValueError, match="non-negative"):
        QuadraticLD(2.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        SquareRootLD(float("nan"), 0.1)
