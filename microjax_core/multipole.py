"""Quadrupole and hexadecapole finite-source corrections, from derivatives of A_ps.

The magnification of a source with radial brightness ``I(r)`` is the brightness-weighted
average of the point-source magnification over the disc. Averaging a smooth ``f`` over a
circle of radius ``r`` gives ``sum_n (r**2/4)**n/(n!)**2 Δ**n f`` (the mean-value
expansion), so

    A ≈ A_ps + c1 ΔA_ps + c2 Δ²A_ps,   c_n = <r**(2n)>_I / (4**n (n!)**2),

the quadrupole and hexadecapole terms of Pejcha & Heyrovský (2009) and Cassan (2017).
For a uniform source ``c1 = rho**2/8``, ``c2 = rho**4/192``; limb darkening changes only
the moments ``<r**2>``, ``<r**4>`` (for the linear law this reproduces Bozza et al. 2018's
factors ``1 - Γ/5`` and ``1 - 11Γ/35``). The Laplacians are taken image by image in the
*image* plane, as Cassan (2017) does: each image contributes ``h = 1/|det J|``, an explicit
function of the image position ``p``, and a source-plane derivative is ``J(p)^-1`` times the
image-plane gradient (``J`` is symmetric), so ``Δh = tr(J^-1 ∇(J^-1 ∇h))`` and ``Δ²h = Δ(Δh)``
are nested forward-mode derivatives of rational functions of ``p``, never of the root
solver. The images come from one point-source solve; the same code serves two and three
lenses (one lens: derivatives of Paczyński's closed form). Differentiating the root solver
four times over instead (the first version) took 20-60 s to compile per lens type, and its
reverse-mode gradient did not compile in 7 minutes for 64 points.

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
from .lenses import PointLens
from .point_source import DEFAULT_IMAGE_TOL, DEFAULT_MAX_ITER, _images_local, _paczynski, _shear

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


def _point_lens_terms(w, c1, c2):
    """Paczyński's ``A(u)``: Laplacians from directional derivatives (x, y and the two diagonals)."""
    p0 = jnp.stack([jnp.real(w), jnp.imag(w)])

    def a(p):
        return _paczynski(p[0] + 1j * p[1])

    ex, ey = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
    d11, d1m = jnp.array([1.0, 1.0]), jnp.array([1.0, -1.0])
    lap = _directional(a, 2, ex)(p0) + _directional(a, 2, ey)(p0)
    fxxxx, fyyyy = _directional(a, 4, ex)(p0), _directional(a, 4, ey)(p0)
    diagonal = _directional(a, 4, d11)(p0) + _directional(a, 4, d1m)(p0)
    fxxyy = (diagonal - 2 * fxxxx - 2 * fyyyy) / 12
    return MultipoleTerms(a(p0), c1 * lap, c2 * (fxxxx + 2 * fxxyy + fyyyy))


def _source_laplacian(h, shear):
    """``p -> Δ_w h(p)``: the source-plane Laplacian of a function of the image position ``p``.

    With ``det J = 1 - |g|**2`` and ``J = [[1 + Re g, Im g], [Im g, 1 - Re g]]``,
    ``∇_w = J^-1 ∇_p``, so ``Δ_w h = sum_ij (J^-1)_ij ∂_pj (J^-1 ∇_p h)_i``.
    """
    def inverse_jacobian(p):
        g = shear(p)
        gr, gi = jnp.real(g), jnp.imag(g)
        return jnp.array([[1 - gr, -gi], [-gi, 1 + gr]]) / (1 - gr**2 - gi**2)

    def source_gradient(p):
        return inverse_jacobian(p) @ jax.jacfwd(h)(p)

    return lambda p: jnp.sum(inverse_jacobian(p) * jax.jacfwd(source_gradient)(p))


def _terms_one(w, lens, c1, c2):
    if isinstance(lens, PointLens):
        return _point_lens_terms(w, c1, c2)
    z, is_image, _, _, zs, _ = _images_local(w, lens, None, DEFAULT_MAX_ITER, DEFAULT_IMAGE_TOL, per_root=True)
    eps = lens.masses().astype(jnp.real(z).dtype)
    z = jnp.where(is_image, z, zs[0] + 1.0)  # a harmless point where no image is

    def shear(p):
        return _shear(p[0] + 1j * p[1], zs, eps)

    def image_terms(zi):
        p0 = jnp.stack([jnp.real(zi), jnp.imag(zi)])
        parity = jax.lax.stop_gradient(jnp.sign(1 - jnp.abs(shear(p0)) ** 2))

        def h(p):  # |magnification| of this image; its parity is fixed near p0
            return parity / (1 - jnp.abs(shear(p)) ** 2)

        lap = _source_laplacian(h, shear)
        return h(p0), lap(p0), _source_laplacian(lap, shear)(p0)

    a, lap, bilap = (jnp.sum(jnp.where(is_image, t, 0.0)) for t in jax.vmap(image_terms)(z))
    return MultipoleTerms(a, c1 * lap, c2 * bilap)


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
