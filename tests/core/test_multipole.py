"""Quadrupole + hexadecapole corrections from autodiff Laplacians of A_ps (taken in the image plane)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import microjax_core as mc
from microjax_core.multipole import multipole_terms, profile_moments

from .. import reference as ref


def test_linear_ld_moments_reproduce_bozza_factors():
    # Bozza et al. 2018: quadrupole x (1 - Γ/5), hexadecapole x (1 - 11Γ/35), Γ = 2u/(3 - u)
    for u in [0.2, 0.5, 0.8]:
        r2, r4 = profile_moments(1.0, mc.LinearLD(u))
        gamma = 2 * u / (3 - u)
        np.testing.assert_allclose([r2 / 0.5, r4 / (1 / 3)], [1 - gamma / 5, 1 - 11 * gamma / 35], rtol=1e-12)
    np.testing.assert_allclose(profile_moments(2.0, None), [2.0, 16 / 3], rtol=1e-14)


@pytest.mark.parametrize("ld", [None, mc.LinearLD(0.5), mc.QuadraticLD(0.3, 0.3)], ids=repr)
def test_single_lens_against_exact_finite_source(ld):
    u = jnp.asarray(np.array([0.05, 0.1, 0.3, 1.0]) + 0j)
    errs = []
    for rho in [1e-2, 3e-3]:
        m = multipole_terms(u, mc.PointLens(), rho, ld)
        exact = np.asarray(mc.single_lens_finite_source_magnification(u, rho, ld))
        errs.append(np.abs(np.asarray(m.magnification) / exact - 1))
        # each order improves on the previous
        assert np.all(np.abs(np.asarray(m.point + m.quadrupole) / exact - 1) < np.abs(np.asarray(m.point) / exact - 1))
    assert errs[0].max() < 2e-6
    # the residual is O(rho^6): 10/3 smaller rho -> ~(10/3)^6 = 1372 x smaller
    assert np.all(errs[0][:2] / errs[1][:2] > 500)


def test_binary_against_vbmicrolensing_contour_integration():
    s, q = 1.0, 0.01
    w = np.array([0.3 + 0.25j, -0.4 + 0.3j, 0.8 - 0.2j, 0.05 + 0.5j])  # well away from the caustics
    vb = ref.vbm()
    vb.Tol = vb.RelTol = 1e-10
    m = multipole_terms(jnp.asarray(w), mc.BinaryLens(s, q), 1e-2)
    theirs = np.array([vb.BinaryMag(s, q, x.real, x.imag, 1e-2, 1e-10) for x in w])
    np.testing.assert_allclose(np.asarray(m.magnification), theirs, rtol=1e-10)
    vb.a1 = 0.5
    m = multipole_terms(jnp.asarray(w), mc.BinaryLens(s, q), 1e-2, mc.LinearLD(0.5))
    theirs = np.array([vb.BinaryMagDark(s, q, x.real, x.imag, 1e-2, 1e-9) for x in w])
    np.testing.assert_allclose(np.asarray(m.magnification), theirs, rtol=5e-9)


@pytest.mark.slow
def test_triple_against_vbmicrolensing_contour_integration():
    lens = mc.TripleLens(1.0, 0.3, 1.2, 1e-3, 2.0)
    w = np.array([0.3 + 0.45j, -0.6 + 0.3j])
    vb = ref.vbm()
    vb.Tol = vb.RelTol = 1e-10
    ref.vb_set_geometry(vb, np.asarray(lens.positions()), np.asarray(lens.masses()))
    theirs = np.array([vb.MultiMag(x.real, x.imag, 1e-2) for x in w])
    m = multipole_terms(jnp.asarray(w), lens, 1e-2)
    np.testing.assert_allclose(np.asarray(m.magnification), theirs, rtol=1e-8)


def test_image_plane_laplacians_equal_derivatives_through_the_root_solver():
    """Independent route: nested forward derivatives of ``point_source_magnification`` in the
    source plane (through the root solver's implicit-function rule) give the same Laplacians."""
    lens, w = mc.BinaryLens(0.9, 0.05), np.array([0.3 + 0.25j, -0.45 + 0.1j])

    def a(p):
        return mc.point_source_magnification(p[0] + 1j * p[1], lens)

    def second(f, e):
        return lambda p: jax.jvp(lambda x: jax.jvp(f, (x,), (e,))[1], (p,), (e,))[1]

    ex, ey = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
    for x in w:
        p = jnp.array([x.real, x.imag])
        lap = second(a, ex)(p) + second(a, ey)(p)
        bilap = second(second(a, ex), ex)(p) + 2 * second(second(a, ex), ey)(p) + second(second(a, ey), ey)(p)
        m = multipole_terms(jnp.asarray(x), lens, 2.0)  # rho = 2: c1 = 1/2, c2 = 1/12 (uniform)
        np.testing.assert_allclose(float(m.quadrupole), 0.5 * float(lap), rtol=1e-9)
        np.testing.assert_allclose(float(m.hexadecapole), float(bilap) / 12, rtol=1e-8)


def test_gradients_match_finite_differences_of_vbmicrolensing():
    """Every parameter, off the caustics (where the multipole tier is used), against central
    differences of VBMicrolensing's ``BinaryMag`` (contour integration, Tol 1e-10)."""
    p0 = np.array([1.0, 0.01, 0.3, 0.25, 1e-2])  # s, q, w_x, w_y, rho

    def ours(p):
        return multipole_terms(p[2] + 1j * p[3], mc.BinaryLens(p[0], p[1]), p[4]).magnification

    value, grad = jax.value_and_grad(ours)(jnp.asarray(p0))
    assert float(value) == pytest.approx(float(ours(jnp.asarray(p0))), rel=1e-14, abs=0)
    vb = ref.vbm()
    vb.Tol = vb.RelTol = 1e-10
    for i, name in enumerate(["s", "q", "w_x", "w_y", "rho"]):
        h = 1e-4 * max(abs(p0[i]), 1e-2)
        up, down = p0.copy(), p0.copy()
        up[i] += h
        down[i] -= h
        fd = (vb.BinaryMag(*up[:4], up[4], 1e-10) - vb.BinaryMag(*down[:4], down[4], 1e-10)) / (2 * h)
        assert float(grad[i]) == pytest.approx(fd, rel=1e-4), name
