"""Point-source magnification: analytic limits, invariants, jit/vmap/grad, precision guard."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import microjax_core as mc
from microjax_core.point_source import _relative_residual

from ..helpers import assert_rel_close

LENSES = {
    "binary": mc.BinaryLens(0.9, 0.05),
    "binary-planet": mc.BinaryLens(1.2, 1e-5),
    "triple": mc.TripleLens(1.0, 0.3, 1.1, 1e-3, 2.0),
    "triple-two-planets": mc.TripleLens(1.0, 1e-4, 0.9, 3e-5, -1.0),
}


def _points(n, seed=0, box=1.5):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.uniform(-box, box, n) + 1j * rng.uniform(-box, box, n))


@pytest.mark.parametrize("u, expected", [(0.1, 10.037461005722337), (1.0, 1.3416407864998738)])
def test_single_lens_paczynski_values(u, expected):
    # Published values: A(0.1) = 10.0375, A(1) = 3/sqrt(5) = 1.34164 (Paczyński 1986).
    lens = mc.PointLens()
    w = jnp.asarray(u * np.exp(0.7j))
    np.testing.assert_allclose(mc.point_source_magnification(w, lens), expected, rtol=1e-14)
    # the general polynomial route (two images) gives the same
    z, is_image, _ = mc.images(w, lens)
    assert int(is_image.sum()) == 2
    A = np.sum(1 / np.abs(np.asarray(mc.jacobian_determinant(z, lens))))
    np.testing.assert_allclose(A, expected, rtol=1e-13)


@pytest.mark.parametrize("name", sorted(LENSES))
def test_far_field_tends_to_one(name):
    lens = LENSES[name]
    u = np.array([30.0, 100.0, 1000.0])
    w = jnp.asarray(u * np.exp(1j * np.array([0.3, 2.0, -1.2])))
    A = np.asarray(mc.point_source_magnification(w, lens))
    # A - 1 -> 2/u^4 for a point lens; a multiple lens differs at O(1) in the minor
    # image (which sits among the lenses) but keeps the 1/u^4 fall-off.
    assert np.all(np.abs(A - 1) < 4 / u**4 + 1e-11), A - 1


@pytest.mark.parametrize("name", sorted(LENSES))
def test_image_counts_and_residuals(name):
    lens = LENSES[name]
    w = _points(400, seed=1)
    out = jax.vmap(lambda x: mc.images(x, lens))(w)
    counts = np.asarray(out.is_image.sum(axis=1))
    allowed = {2: {3, 5}, 3: {4, 6, 8, 10}}[lens.n_lenses]
    assert set(np.unique(counts)) <= allowed, np.unique(counts)
    assert bool(np.all(out.converged))
    res = np.asarray(jax.vmap(lambda z, x: _relative_residual(z, x, lens.positions(), lens.masses()))(out.z, w))
    assert res[np.asarray(out.is_image)].max() < 1e-13


def test_triple_with_massless_third_lens_equals_binary():
    w = _points(1000, seed=2, box=1.0)
    binary = np.asarray(mc.point_source_magnification(w, mc.BinaryLens(0.9, 0.05)))
    exact = np.asarray(mc.point_source_magnification(w, mc.TripleLens(0.9, 0.05, 0.7, 0.0, 1.0)))
    assert_rel_close(exact, binary, 1e-12, "q3 = 0")
    # and continuously: the largest change is linear in q3 (measured ~1e3 q3 here,
    # near the third body's own small caustic; the median change is ~0.3 q3)
    for q3 in [1e-6, 1e-8, 1e-10]:
        tiny = np.asarray(mc.point_source_magnification(w, mc.TripleLens(0.9, 0.05, 0.7, q3, 1.0)))
        assert_rel_close(tiny, binary, 2e3 * q3, f"q3 = {q3}")


def test_any_shape_jit_vmap_and_grad():
    lens = LENSES["binary"]
    w = _points(12, seed=3).reshape(3, 4)
    A = mc.point_source_magnification(w, lens)
    assert A.shape == (3, 4) and A.dtype == jnp.float64
    np.testing.assert_allclose(jax.jit(mc.point_source_magnification)(w, lens), A, rtol=1e-14)
    # vmap over lens parameters
    s = jnp.linspace(0.6, 1.6, 5)
    batched = jax.vmap(lambda s: mc.point_source_magnification(w[0, 0], mc.BinaryLens(s, 0.05)))(s)
    for si, a in zip(np.asarray(s), np.asarray(batched)):
        np.testing.assert_allclose(a, mc.point_source_magnification(w[0, 0], mc.BinaryLens(float(si), 0.05)),
                                   rtol=1e-13)
    g = jax.grad(lambda x: mc.point_source_magnification(x + 0.1j, lens))(0.2)
    assert np.isfinite(g)
    assert mc.point_source_magnification(jnp.asarray(0.3 + 0.1j), lens).shape == ()


def test_images_rejects_batched_input():
    with pytest.raises(ValueError, match="use jax.vmap"):
        mc.images(jnp.zeros(3, complex), LENSES["binary"])


def test_float32_is_refused_with_a_clear_message():
    w32 = jnp.asarray(0.1 + 0.2j, dtype=jnp.complex64)
    with pytest.raises(TypeError, match="needs float64"):
        mc.point_source_magnification(w32, LENSES["binary"])
    with pytest.raises(TypeError, match="needs float64"):
        mc.point_source_magnification(jnp.asarray(0.1 + 0.2j), mc.BinaryLens(np.float32(1.0), np.float32(0.1)))
    with pytest.raises(TypeError, match="jax_enable_x64"):
        mc.images(w32, mc.PointLens())


def test_float32_refused_when_x64_is_off():
    """A user who forgot x64 gets an error, not a silently wrong float32 answer."""
    import subprocess
    import sys

    code = ("import jax.numpy as jnp, microjax_core as mc\n"
            "try:\n    mc.point_source_magnification(jnp.asarray(0.1+0.2j), mc.BinaryLens(1.0, 0.1))\n"
            "except TypeError as e:\n    print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"})
    assert out.stdout.startswith("refused:") and "jax_enable_x64" in out.stdout
