"""Trajectory convention: VBMicrolensing's alpha equals ours minus pi, t0/u0 at the 1-2 barycentre."""
import jax.numpy as jnp
import numpy as np

import microjax_core as mc

from .. import reference as ref


def test_binary_and_triple_light_curves_match_vbmicrolensing_convention():
    t0, tE, u0, alpha, rho = 0.3, 20.0, 0.1, 0.7, 1e-5  # tiny rho: point-source limit to ~1e-5
    t = np.linspace(-10, 10, 9)
    w = mc.source_trajectory(jnp.asarray(t), t0, tE, u0, alpha)
    vb = ref.vbm()
    s, q, s13, q3, psi = 1.1, 0.05, 0.8, 0.01, 1.2
    vb_alpha = alpha - np.pi
    binary = vb.BinaryLightCurve([np.log(s), np.log(q), u0, vb_alpha, np.log(rho), np.log(tE), t0], t)[0]
    np.testing.assert_allclose(np.asarray(mc.point_source_magnification(w, mc.BinaryLens(s, q))), binary, rtol=1e-4)
    triple = vb.TripleLightCurve([np.log(s), np.log(q), u0, vb_alpha, np.log(rho), np.log(tE), t0,
                                  np.log(s13), np.log(q3), psi], t)[0]
    ours = np.asarray(mc.point_source_magnification(w, mc.TripleLens(s, q, s13, q3, psi)))
    np.testing.assert_allclose(ours, triple, rtol=1e-4)
    # and the other sign of alpha would not match: the test can fail
    wrong = mc.source_trajectory(jnp.asarray(t), t0, tE, u0, vb_alpha)
    assert np.abs(np.asarray(mc.point_source_magnification(wrong, mc.BinaryLens(s, q))) / binary - 1).max() > 1e-2
