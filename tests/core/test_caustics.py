import numpy as np
import pytest

import microjax_core as mc

from .. import reference as ref


@pytest.mark.parametrize("lens", [mc.BinaryLens(1.0, 1e-2), mc.BinaryLens(0.6, 1e-4), mc.BinaryLens(2.0, 0.5),
                                  mc.TripleLens(1.0, 0.3, 1.2, 1e-3, 2.0)], ids=repr)
def test_critical_points_have_vanishing_jacobian(lens):
    crit, caus = mc.critical_curves_and_caustics(lens, n_points=300)
    n = lens.n_lenses
    assert crit.shape == caus.shape == (300, 2 * n)
    det = np.asarray(mc.jacobian_determinant(crit, lens))
    assert np.abs(det).max() < 1e-10
    np.testing.assert_allclose(np.asarray(caus), np.asarray(mc.lens_equation(crit, lens.positions(), lens.masses())))


@pytest.mark.parametrize("s, q", [(1.0, 1e-2), (0.6, 1e-4), (2.0, 0.5)])
def test_caustics_match_vbmicrolensing(s, q):
    _, caus = mc.critical_curves_and_caustics(mc.BinaryLens(s, q), n_points=4000)
    ours = np.ravel(np.asarray(caus))
    spacing = np.abs(np.diff(np.asarray(caus), axis=0)).max()
    vb = ref.vbm().Caustics(s, q)
    theirs = np.concatenate([np.asarray(c[0]) + 1j * np.asarray(c[1]) for c in vb])
    dist = np.array([np.min(np.abs(ours - t)) for t in theirs])
    assert dist.max() < spacing, (dist.max(), spacing)


def test_branches_are_continuous():
    crit, _ = mc.critical_curves_and_caustics(mc.BinaryLens(1.2, 0.1), n_points=2000)
    step = np.abs(np.diff(np.asarray(crit), axis=0))
    assert step.max() < 0.05  # warm-started phases never jump between branches
