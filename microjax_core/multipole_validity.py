"""Where the quadrupole + hexadecapole approximation may be used: a conservative test.

Two conditions, both required (a point failing either goes to full finite-source
integration):

1. **Distance to the caustic** ``> distance_factor * rho``, measured to the caustic
   polyline from ``critical_curves_and_caustics`` (every branch, so small planetary
   caustics count: the fault of tests centred on the wrong place, DESIGN.md §4.3).
2. **Convergence of the expansion**: ``|A_hexadecapole| / A < hexadecapole_tol``;
   the first neglected term is smaller still where the series converges.

Neither alone is safe: near a cusp the hexadecapole can be small at the source centre
while the caustic is within a few rho (the benchmark saw errors of 5e2 with
``|A_H|/A < 1e-5``), and at ``3 rho`` from a strong caustic the series has not
converged. Calibrated against VBMicrolensing's contour integration (see
``tests/core/test_multipole_validity.py``), the defaults accepted about half of the
points drawn within 1-50 rho of binary caustics with a worst error of 2e-5.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["caustic_distance", "multipole_is_valid"]


def caustic_distance(w, caustics):
    """Distance from each source position ``w`` (any shape) to the caustic polyline.

    ``caustics``: complex ``(n_points, n_branches)`` from ``critical_curves_and_caustics``;
    consecutive rows of a column are joined by segments. Chords cut the curve's corners
    by ~ spacing**2 x curvature (1e-5 for 400 points on a q = 0.01 resonant caustic, 25x
    less for 2000): sample densely enough that this is far below ``rho``.
    """
    w = jnp.asarray(w)
    a = caustics[:-1].reshape(-1)
    b = caustics[1:].reshape(-1)
    ab = b - a
    ab2 = jnp.maximum(jnp.abs(ab) ** 2, jnp.finfo(jnp.abs(ab).dtype).tiny)

    def one(x):
        t = jnp.clip(jnp.real((x - a) * jnp.conj(ab)) / ab2, 0.0, 1.0)
        return jnp.min(jnp.abs(x - (a + t * ab)))

    return jax.vmap(one)(w.reshape(-1)).reshape(w.shape)


def multipole_is_valid(w, caustics, rho, terms, *, distance_factor: float = 3.0,
                       hexadecapole_tol: float = 3e-5):
    """Boolean mask: where ``terms`` (a ``MultipoleTerms`` at ``w``) may stand for the finite source."""
    far = caustic_distance(w, caustics) > distance_factor * rho
    converged = jnp.abs(terms.hexadecapole) < hexadecapole_tol * jnp.abs(terms.magnification)
    return jax.lax.stop_gradient(far & converged)
