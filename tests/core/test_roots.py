import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from microjax_core import polynomial_roots


def _coeffs_from_roots(roots):
    return np.polynomial.polynomial.polyfromroots(roots).astype(complex)


def _match(found, expected):
    found = np.asarray(found)
    return np.array([np.min(np.abs(found - e)) for e in expected])


def test_recovers_known_roots_to_machine_precision():
    expected = np.array([1.0, -2.0, 0.5 + 1.5j, -0.3 - 0.7j, 3j])
    res = polynomial_roots(jnp.asarray(_coeffs_from_roots(expected)))
    assert bool(res.converged)
    assert _match(res.roots, expected).max() < 1e-13


def test_clustered_roots_within_their_condition_number():
    expected = 1.0 + 1e-2 * np.arange(4)
    c = _coeffs_from_roots(expected)
    res = polynomial_roots(jnp.asarray(c))
    # first-order forward-error bound of a simple root: eps * p~(|z|) / |p'(z)|
    p_abs = np.polynomial.polynomial.polyval(np.abs(expected), np.abs(c))
    dp = np.abs(np.polynomial.polynomial.polyval(expected, np.polynomial.polynomial.polyder(c)))
    bound = np.finfo(float).eps * p_abs / dp
    assert np.all(_match(res.roots, expected) <= 20 * bound)


def test_iteration_cap_reports_non_convergence():
    expected = np.array([1.0, -2.0, 0.5 + 1.5j, -0.3 - 0.7j, 3j, 7.0])
    res = polynomial_roots(jnp.asarray(_coeffs_from_roots(expected)), max_iter=1)
    assert not bool(res.converged)


def test_warm_start_converges_and_agrees():
    expected = np.array([1.0, -2.0, 0.5 + 1.5j])
    c = jnp.asarray(_coeffs_from_roots(expected))
    warm = polynomial_roots(c, z0=jnp.asarray(expected + 1e-3), max_iter=4)
    assert bool(warm.converged)
    assert _match(warm.roots, expected).max() < 1e-14
    with pytest.raises(ValueError, match="z0 must have shape"):
        polynomial_roots(c, z0=jnp.zeros(2, complex))


def test_rejects_batched_input_with_vmap_hint():
    with pytest.raises(ValueError, match="use jax.vmap"):
        polynomial_roots(jnp.ones((3, 4), complex))


def test_implicit_derivative_matches_analytic():
    # p(z) = z^2 - a has roots +-sqrt(a); d sqrt(a)/da = 1/(2 sqrt(a))
    def root(a):
        c = jnp.stack([-a + 0j, 0j, 1 + 0j])
        r = polynomial_roots(c).roots
        return jnp.max(jnp.real(r))  # the positive root

    a = 2.0
    np.testing.assert_allclose(jax.grad(root)(a), 0.5 / np.sqrt(a), rtol=1e-12)
    check_grads(root, (a,), order=1, modes=["fwd", "rev"], eps=1e-6, atol=1e-8, rtol=1e-7)


def test_derivative_independent_of_iteration_count():
    c0 = jnp.asarray(_coeffs_from_roots(np.array([1.0, -2.0, 0.5 + 1.5j])))

    def f(t, max_iter):
        c = c0.at[0].add(t)
        return jnp.sum(jnp.abs(polynomial_roots(c, max_iter=max_iter).roots) ** 2)

    g_many = jax.grad(f)(0.1, 100)
    g_warm = jax.grad(lambda t: jnp.sum(jnp.abs(
        polynomial_roots(c0.at[0].add(t), z0=jnp.array([1.0, -2.0, 0.5 + 1.5j]) + 0.05,
                         max_iter=100).roots) ** 2))(0.1)
    np.testing.assert_allclose(g_many, g_warm, rtol=1e-12)


def test_vmap_and_jit():
    roots = np.array([[1.0, 2.0, 3.0], [-1.0, 1j, -1j]])
    c = jnp.asarray(np.stack([_coeffs_from_roots(r) for r in roots]))
    res = jax.jit(jax.vmap(polynomial_roots))(c)
    assert res.roots.shape == (2, 3) and res.converged.shape == (2,)
    for found, exp in zip(np.asarray(res.roots), roots):
        assert _match(found, exp).max() < 1e-13


@pytest.mark.parametrize("degree", [5, 10])
def test_per_root_layout_gives_the_same_roots(degree):
    """``per_root=True`` (the step unrolled per root, degree <= 5; ignored above) against the stacked
    layout and against the known roots, vmapped over 200 random polynomials; also the frozen mask."""
    rng = np.random.default_rng(degree)
    roots = rng.normal(size=(200, degree)) + 1j * rng.normal(size=(200, degree))
    c = jnp.asarray(np.stack([_coeffs_from_roots(r) for r in roots]))
    stacked = jax.jit(jax.vmap(lambda x: polynomial_roots(x)))(c)
    unrolled = jax.jit(jax.vmap(lambda x: polynomial_roots(x, per_root=True)))(c)
    assert bool(jnp.all(unrolled.converged)) and bool(jnp.all(stacked.converged))
    for found, exp in zip(np.asarray(unrolled.roots), roots):
        assert _match(found, exp).max() < 1e-10 * np.abs(exp).max() ** 2
    np.testing.assert_allclose(np.sort_complex(np.asarray(unrolled.roots)), np.sort_complex(np.asarray(stacked.roots)),
                               rtol=0, atol=1e-11)
    start = jnp.asarray(roots[0] + 1e-3)
    frozen = jnp.arange(degree) == 0
    warm = polynomial_roots(c[0], z0=start, frozen=frozen, per_root=True)
    assert complex(warm.roots[0]) == complex(start[0])  # a frozen root is not polished either
    assert _match(warm.roots[1:], roots[0][1:]).max() < 1e-10
