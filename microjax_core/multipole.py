"""Quadrupole and hexadecapole finite-source corrections, from derivatives of A_ps.

The magnification of a source with radial brightness ``I(r)`` is the brightness-weighted
average of the point-source magnification over the disc. Averaging a smooth ``f`` over a
circle of radius ``r`` gives ``sum_n (r**2/4)**n/(n!)**2 Δ**n f`` (the mean-value
expansion), so

    A ≈ A_ps + c1 ΔA_ps + c2 Δ²A_ps,   c_n = <r**(2n)>_I / (4**n (n!)**2),

the quadrupole and hexadecapole terms of Pejcha & Heyrovský (2009) and Cassan (2017).
For a uniform source ``c1 = rho**2/8``, ``c2 = rho**4/192``; limb darkening changes only
the moments ``<r**2>``, ``<r**4>`` (for the linear law this reproduces Bozza et al. 2018's
factors ``1 - Γ/5`` and ``1 - 11Γ/35``). The Laplacians come from nested forward-mode
derivatives of ``point_source_magnification`` with respect to the source position, so the
same code serves one, two and three lenses; ``Δ² = f_xxxx + 2 f_xxyy + f_yyyy`` uses four
directional fourth derivatives (x, y and the two diagonals).

The expansion is only valid far enough from caustics; deciding where (the validity test)
is the caller's job. ``multipole_terms`` returns the pieces such a test needs.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._dtype import require_float64
from .limb_darkening import as_profile
from .point_source import point_source_magnification

__all__ = ["MultipoleTerms", "multipole_terms", "profile_moments"]

_MU, _MU_W = np.polynomial.legendre.leggauss(48)
_MU = 0.5 * (_MU + 1)  # nodes on [0, 1]
_MU_W = 0.5 * _MU_W


class MultipoleTerms(NamedTuple):
    point: jax.Array  # A_ps
    quadrupole: jax.Array  # c1 ΔA_ps
    hexadecapole: jax.Array  # c2 Δ²A_ps

    @property
    def magnification(self):
        return self.point + self.quadrupole + self.hexadecapole


def profile_moments(rho, limb_darkening=None):
    """``(<r**2>, <r**4>)`` of the brightness profile over the disc of radius ``rho``.

    With ``mu = sqrt(1 - r**2/rho**2)``, ``r dr = -rho**2 mu dmu``: Gauss–Legendre in ``mu``
    (exact for the polynomial laws; ~1e-9 for the square-root law's ``sqrt(mu)``).
    """
    profile = as_profile(limb_darkening)
    b = profile.brightness(jnp.asarray(_MU)) * _MU * _MU_W
    norm = jnp.sum(b)
    one_minus = 1 - _MU**2
    return rho**2 * jnp.sum(b * one_minus) / norm, rho**4 * jnp.sum(b * one_minus**2) / norm


def _directional(f, order, direction):
    g = f
    for _ in range(order):
        g = (lambda h: (lambda p: jax.jvp(h, (p,), (direction,))[1]))(g)
    return g


def _terms_one(w, lens, c1, c2):
    p0 = jnp.stack([jnp.real(w), jnp.imag(w)])

    def a(p):
        return point_source_magnification(p[0] + 1j * p[1], lens)

    ex, ey = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
    d11, d1m = jnp.array([1.0, 1.0]), jnp.array([1.0, -1.0])
    lap = _directional(a, 2, ex)(p0) + _directional(a, 2, ey)(p0)
    fxxxx, fyyyy = _directional(a, 4, ex)(p0), _directional(a, 4, ey)(p0)
    diagonal = _directional(a, 4, d11)(p0) + _directional(a, 4, d1m)(p0)
    fxxyy = (diagonal - 2 * fxxxx - 2 * fyyyy) / 12
    bilap = fxxxx + 2 * fxxyy + fyyyy
    return MultipoleTerms(a(p0), c1 * lap, c2 * bilap)


@jax.jit
def _terms_flat(w, lens, c1, c2):
    return jax.vmap(lambda x: _terms_one(x, lens, c1, c2))(w)


def multipole_terms(w, lens, rho, limb_darkening=None) -> MultipoleTerms:
    """Point-source value and the quadrupole/hexadecapole corrections at ``w`` (any shape)."""
    w = jnp.asarray(w)
    profile = as_profile(limb_darkening)
    require_float64("multipole_terms", w, rho, *jax.tree_util.tree_leaves((lens, profile)))
    r2, r4 = profile_moments(jnp.asarray(rho), profile)
    c1, c2 = r2 / 4, r4 / 64
    out = _terms_flat(w.astype(jnp.result_type(w, 1j)).reshape(-1), lens, c1, c2)
    return MultipoleTerms(*(t.reshape(w.shape) for t in out))
