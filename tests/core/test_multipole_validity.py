"""The multipole validity test never accepts a point where the multipole is off by > 1e-4.

Reference: VBMicrolensing's contour integration (``BinaryMag``, ``MultiMag``) at 1e-7.
The sample is drawn independently of the one used to choose the defaults.
"""
import jax.numpy as jnp
import numpy as np
import pytest

import microjax_core as mc

from .. import reference as ref


def test_caustic_distance_matches_brute_force():
    lens = mc.BinaryLens(1.0, 1e-2)
    _, dense = mc.critical_curves_and_caustics(lens, n_points=20000)
    rng = np.random.default_rng(3)
    w = rng.uniform(-0.3, 0.3, 50) + 1j * rng.uniform(-0.1, 0.1, 50)
    brute = np.min(np.abs(w[:, None] - np.ravel(np.asarray(dense))[None, :]), axis=1)
    # chords cut corners by ~ spacing^2 x curvature: 1e-5 at 400 points, 25x less at 2000
    for n, tol in [(400, 2e-5), (2000, 1e-6)]:
        _, caus = mc.critical_curves_and_caustics(lens, n_points=n)
        ours = np.asarray(mc.caustic_distance(jnp.asarray(w), caus))
        np.testing.assert_allclose(ours, brute, atol=tol)


def _sweep(lenses, rhos, n, seed, exact):
    rng = np.random.default_rng(seed)
    accepted_errors, n_total = [], 0
    for lens in lenses:
        _, caus = mc.critical_curves_and_caustics(lens, n_points=2000)
        c = np.ravel(np.asarray(caus))
        for rho in rhos:
            w = c[rng.integers(0, c.size, n)] + rho * 10 ** rng.uniform(0, 1.7, n) * np.exp(
                1j * rng.uniform(0, 2 * np.pi, n))
            terms = mc.multipole_terms(jnp.asarray(w), lens, rho)
            ok = np.asarray(mc.multipole_is_valid(jnp.asarray(w), caus, rho, terms))
            n_total += n
            if ok.any():
                truth = exact(lens, w[ok], rho)
                accepted_errors.append(np.abs(np.asarray(terms.magnification)[ok] / truth - 1))
    errors = np.concatenate(accepted_errors)
    return errors, n_total


def _vb_binary(lens, w, rho):
    vb = ref.vbm()
    vb.Tol = vb.RelTol = 1e-7
    return np.array([vb.BinaryMag(float(lens.s), float(lens.q), x.real, x.imag, rho, 1e-7) for x in w])


def test_binary_validity_is_safe():
    rng = np.random.default_rng(101)
    lenses = [mc.BinaryLens(10 ** rng.uniform(np.log10(0.5), np.log10(2)), 10 ** rng.uniform(-5, 0))
              for _ in range(6)]
    errors, n_total = _sweep(lenses, [1e-2, 1e-3, 1e-4], 30, seed=102, exact=_vb_binary)
    assert errors.max() < 1e-4, errors.max()
    assert errors.size > 0.25 * n_total  # and it is not uselessly strict


@pytest.mark.slow
def test_triple_validity_is_safe():
    def vb_triple(lens, w, rho):
        vb = ref.vbm()
        vb.Tol = vb.RelTol = 1e-7
        ref.vb_set_geometry(vb, np.asarray(lens.positions()), np.asarray(lens.masses()))
        return np.array([vb.MultiMag(x.real, x.imag, rho) for x in w])

    lenses = [mc.TripleLens(1.0, 0.3, 1.2, 1e-3, 2.0), mc.TripleLens(0.9, 1e-3, 1.1, 5e-4, -1.0)]
    errors, n_total = _sweep(lenses, [1e-2, 1e-3], 20, seed=103, exact=vb_triple)
    assert errors.max() < 1e-4, errors.max()
