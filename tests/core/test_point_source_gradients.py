"""Gradients of the point-source magnification: finite differences, and a NaN/inf fuzz."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import microjax_core as mc


def _binary_mag(x, y, s, q):
    return mc.point_source_magnification(x + 1j * y, mc.BinaryLens(s, q))


def _triple_mag(x, y, s, q, s13, q3, psi):
    return mc.point_source_magnification(x + 1j * y, mc.TripleLens(s, q, s13, q3, psi))


# Off-caustic points (``_assert_off_caustic``: |det J| of every image > 1e-2), resonant,
# close, wide and planetary.
BINARY_POINTS = [
    (0.05, 0.12, 1.0, 1e-2),
    (-0.3, 0.2, 0.7, 0.3),
    (0.6, -0.05, 1.4, 1e-3),
    (0.42, 0.01, 1.3, 1e-4),   # next to the planetary caustic of a wide planet
    (1.2, 0.4, 2.5, 1.0),
]
TRIPLE_POINTS = [
    (0.05, 0.1, 1.0, 0.3, 1.1, 1e-3, 2.0),
    (-0.2, -0.15, 0.9, 1e-3, 1.2, 5e-4, -1.0),
    (0.3, 0.25, 1.2, 0.5, 0.8, 0.2, 0.7),
]


def _assert_off_caustic(w, lens):
    z, is_image, _ = mc.images(jnp.asarray(w), lens)
    det = np.abs(np.asarray(mc.jacobian_determinant(z, lens)))[np.asarray(is_image)]
    assert det.min() > 1e-2, f"test point {w} is too close to a caustic (|det J| = {det.min():.1e})"


@pytest.mark.parametrize("args", BINARY_POINTS)
def test_binary_gradients_match_finite_differences(args):
    _assert_off_caustic(args[0] + 1j * args[1], mc.BinaryLens(*args[2:]))
    check_grads(_binary_mag, args, order=1, modes=["fwd", "rev"], eps=1e-7, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("args", TRIPLE_POINTS)
def test_triple_gradients_match_finite_differences(args):
    _assert_off_caustic(args[0] + 1j * args[1], mc.TripleLens(*args[2:]))
    check_grads(_triple_mag, args, order=1, modes=["fwd", "rev"], eps=1e-7, atol=1e-6, rtol=1e-6)


def test_gradient_against_vbmicrolensing_finite_differences():
    """An independent check: d A/d(x, s, q) against central differences of VBMicrolensing."""
    from .. import reference as ref

    x, y, s, q = BINARY_POINTS[2]
    grads = jax.grad(_binary_mag, argnums=(0, 2, 3))(x, y, s, q)
    h = 1e-6

    def vb(x, s, q):
        return ref.vb_binary_mag0(s, q, np.array([x + 1j * y]))[0]

    fd = [(vb(x + h, s, q) - vb(x - h, s, q)) / (2 * h),
          (vb(x, s + h, q) - vb(x, s - h, q)) / (2 * h),
          (vb(x, s, q * (1 + h)) - vb(x, s, q * (1 - h))) / (2 * h * q)]
    np.testing.assert_allclose(np.array(grads, dtype=float), fd, rtol=1e-5)


def _fuzz(n, seed):
    """Random lenses and sources (a third of them within 1e-6..1e-2 of a lens's caustic region)."""
    rng = np.random.default_rng(seed)
    s = 10 ** rng.uniform(np.log10(0.2), np.log10(5), n)
    q = 10 ** rng.uniform(-6, 0, n)
    s13 = 10 ** rng.uniform(np.log10(0.3), np.log10(3), n)
    q3 = 10 ** rng.uniform(-6, 0, n)
    psi = rng.uniform(0, 2 * np.pi, n)
    x, y = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    # a third of the sources near the central or planetary caustic (s - 1/s from the primary)
    k = n // 3
    centre = np.where(rng.uniform(size=k) < 0.5, 0.0, (s[:k] - 1 / s[:k]) - s[:k] * q[:k] / (1 + q[:k]))
    r = 10 ** rng.uniform(-6, -2, k)
    x[:k] = centre + r * np.cos(psi[:k])
    y[:k] = r * np.sin(psi[:k])
    return tuple(jnp.asarray(a) for a in (x, y, s, q, s13, q3, psi))


def _finite_count(fn, args, argnums):
    vg = jax.jit(jax.vmap(jax.value_and_grad(fn, argnums=argnums)))
    value, grads = vg(*args)
    ok = np.isfinite(np.asarray(value))
    for g in grads:
        ok &= np.isfinite(np.asarray(g))
    return ok


@pytest.mark.parametrize("n", [3000])
def test_fuzz_no_nan_or_inf_binary(n):
    x, y, s, q, *_ = _fuzz(n, seed=5)
    ok = _finite_count(_binary_mag, (x, y, s, q), (0, 1, 2, 3))
    assert ok.all(), f"{(~ok).sum()} of {n} binary configurations gave NaN/inf"


@pytest.mark.parametrize("n", [1500])
def test_fuzz_no_nan_or_inf_triple(n):
    args = _fuzz(n, seed=6)
    ok = _finite_count(_triple_mag, args, tuple(range(7)))
    assert ok.all(), f"{(~ok).sum()} of {n} triple configurations gave NaN/inf"


@pytest.mark.slow
def test_fuzz_full_100k():
    x, y, s, q, s13, q3, psi = _fuzz(60_000, seed=7)
    assert _finite_count(_binary_mag, (x, y, s, q), (0, 1, 2, 3)).all()
    args = _fuzz(40_000, seed=8)
    assert _finite_count(_triple_mag, args, tuple(range(7))).all()
