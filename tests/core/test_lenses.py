import jax
import jax.numpy as jnp
import numpy as np
import pytest

import microjax_core as mc


def test_binary_geometry_matches_design_convention():
    lens = mc.BinaryLens(1.5, 0.25)
    z = np.asarray(lens.positions())
    m = np.asarray(lens.masses())
    np.testing.assert_allclose(z, [-1.5 * 0.25 / 1.25, 1.5 / 1.25], rtol=1e-15)
    np.testing.assert_allclose(m, [1 / 1.25, 0.25 / 1.25], rtol=1e-15)
    assert abs(np.sum(m * z)) < 1e-15  # barycentre at the origin
    assert abs(z[1] - z[0] - 1.5) < 1e-15


def test_triple_geometry_matches_vbmicrolensing_convention():
    s, q, s13, q3, psi = 1.1, 0.2, 0.8, 0.01, 1.2
    lens = mc.TripleLens(s, q, s13, q3, psi)
    z = np.asarray(lens.positions())
    m = np.asarray(lens.masses())
    np.testing.assert_allclose(z[:2], np.asarray(mc.BinaryLens(s, q).positions()), rtol=1e-15)
    np.testing.assert_allclose(z[2], z[0] + s13 * np.exp(1j * psi), rtol=1e-15)
    np.testing.assert_allclose(m, np.array([1, q, q3]) / (1 + q + q3), rtol=1e-15)


def test_from_microjax_conversion_places_third_lens_from_midpoint():
    s, q, q3, r3, psi = 1.0, 0.1, 1e-3, 0.7, 0.5
    lens = mc.TripleLens.from_microjax(s, q, q3, r3, psi)
    z = np.asarray(lens.positions())
    np.testing.assert_allclose(z[2], 0.5 * (z[0] + z[1]) + r3 * np.exp(1j * psi), atol=1e-15)


@pytest.mark.parametrize("args, message", [
    ((0.0, 0.1), "s must be > 0"),
    ((-1.0, 0.1), "s must be > 0"),
    ((1.0, 0.0), "q must be > 0"),
    ((1.0, float("nan")), "q must be finite"),
    ((float("inf"), 0.1), "s must be finite"),
])
def test_binary_rejects_bad_values(args, message):
    with pytest.raises(ValueError, match=message):
        mc.BinaryLens(*args)


def test_triple_rejects_bad_values():
    with pytest.raises(ValueError, match="q3 must be >= 0"):
        mc.TripleLens(1.0, 0.1, 1.0, -1e-3, 0.0)
    with pytest.raises(ValueError, match="s13 must be > 0"):
        mc.TripleLens(1.0, 0.1, 0.0, 1e-3, 0.0)
    with pytest.raises(TypeError, match="psi must be a real number"):
        mc.TripleLens(1.0, 0.1, 1.0, 1e-3, "north")
    mc.TripleLens(1.0, 0.1, 1.0, 0.0, 0.0)  # q3 = 0 is allowed (reduces to the binary)


def test_lenses_are_pytrees_under_jit_vmap_grad():
    s = jnp.linspace(0.5, 2.0, 4)
    q = jnp.full(4, 1e-2)
    batched = jax.vmap(lambda s, q: mc.BinaryLens(s, q).positions())(s, q)
    assert batched.shape == (4, 2)
    leaves, tree = jax.tree_util.tree_flatten(mc.TripleLens(1.0, 0.1, 1.0, 1e-3, 0.3))
    assert len(leaves) == 5
    rebuilt = jax.tree_util.tree_unflatten(tree, leaves)
    assert isinstance(rebuilt, mc.TripleLens)
    g = jax.grad(lambda s: jnp.real(mc.BinaryLens(s, 0.5).positions()[1]))(1.0)
    np.testing.assert_allclose(g, 1 / 1.5)
