"""Point-source images and magnification (Witt 1990; Rhie 2002; Paczyński 1986).

``images(w, lens)`` solves the lens-equation polynomial for one source position
and marks the true images (see ``_images_local`` for the steps):

1. Ehrlich–Aberth on the polynomial built in the frame of the lightest lens,
   started near where the images are (``image_guess``); for three lenses, the
   roots nearest each small mass are re-solved in that mass's own frame (the
   other roots frozen), as VBMicrolensing's Multipoly does (DESIGN.md §4.1).
2. Newton polish on the *original* lens equation, kept only where it lowers the
   residual and moves a root by less than a quarter of the gap to its neighbour.
3. True images by their lens-equation residual over its rounding scale
   (``_relative_residual``), with the count forced to be consistent: the ``n + 1``
   smallest residuals are always images, the rest are accepted in pairs (images
   appear and vanish in pairs at caustics), a pair only when both pass
   ``image_tol``. Counts are 2 (one lens), 3 or 5 (two), 4, 6, 8 or 10 (three).

All of it stays in the lightest lens's frame until the images are returned, so
an image a hair from a small planet keeps ``z - z_k`` to full relative precision.
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._dtype import require_float64
from .lenses import PointLens, _Lens
from .polynomial import lens_polynomial
from .roots import polynomial_roots

__all__ = ["Images", "images", "point_source_magnification", "lens_equation", "jacobian_determinant"]

DEFAULT_IMAGE_TOL = 1e-12
POLISH_GATE = 1e-4
N_POLISH = 3
DEFAULT_MAX_ITER = 100


class Images(NamedTuple):
    z: jax.Array  # complex (n**2 + 1,): every polynomial root, lens frame
    is_image: jax.Array  # bool, same shape: true images
    converged: jax.Array  # bool scalar: the root finder met its stopping test


def _geometry(lens: _Lens, dtype):
    return lens.positions().astype(dtype), lens.masses().astype(jnp.finfo(dtype).dtype)


def _inverse_offsets(z, zs):
    """``1/conj(z - z_k)``, zero (not inf/NaN, in value and gradient) where ``z`` sits on a lens.

    No image of a massive lens lies on it; a root on a *massless* lens
    (``q3 = 0``) must contribute nothing.
    """
    d = z[..., None] - zs
    d2 = jnp.real(d) ** 2 + jnp.imag(d) ** 2  # 1/conj(d) = d/|d|^2, without a complex division
    on_lens = d2 == 0
    return jnp.where(on_lens, 0.0, d / jnp.where(on_lens, 1.0, d2))


def _abs2(x):
    """``|x|**2`` of a complex array (``jnp.abs`` of a complex number is an overflow-safe hypot, far costlier on CPU)."""
    return jnp.real(x) ** 2 + jnp.imag(x) ** 2


def _modulus(x):
    return jnp.sqrt(_abs2(x))


def lens_equation(z, zs, eps):
    """Source position ``z - sum_k eps_k/conj(z - z_k)`` mapped from image position ``z``."""
    return z - jnp.sum(eps * _inverse_offsets(z, zs), axis=-1)


def _shear(z, zs, eps):
    """``g = sum_k eps_k / conj(z - z_k)**2`` (so ``det J = 1 - |g|**2``)."""
    return jnp.sum(eps * _inverse_offsets(z, zs) ** 2, axis=-1)


def jacobian_determinant(z, lens: _Lens):
    """Determinant of the lens map's Jacobian at image-plane points ``z``."""
    zs, eps = _geometry(lens, jnp.result_type(z, 1j))
    return 1 - _abs2(_shear(z, zs, eps))


def _relative_residual(z, w, zs, eps):
    """Lens-equation residual over its rounding-error scale.

    Each term ``eps_k/conj(z - z_k)`` carries the absolute error of ``z - z_k``
    (about ``|z| + |z_k|`` ulps) amplified by ``1/|z - z_k|``: an image a hair
    from a small lens cannot have a smaller residual than that, so the scale
    includes it.
    """
    inv = _modulus(_inverse_offsets(z, zs))
    terms = eps * inv * (1 + (_modulus(z)[..., None] + _modulus(zs)) * inv)
    scale = _modulus(w) + _modulus(z) + jnp.sum(terms, axis=-1)
    return _modulus(lens_equation(z, zs, eps) - w) / scale


def _newton_polish(z, w, zs, eps):
    """One Newton step on the 2-D real lens equation: solve ``dz + g conj(dz) = -F``."""
    F = lens_equation(z, zs, eps) - w
    g = _shear(z, zs, eps)
    det = 1 - _abs2(g)
    ok = jnp.abs(det) > jnp.finfo(det.dtype).eps
    dz = (-F + g * jnp.conj(F)) / jnp.where(ok, det, 1.0)
    return z + jnp.where(ok, dz, 0.0)


def image_guess(w, zs, eps):
    """Starting points near where the images are: the major image
    ``w + sum eps_k/conj(w - z_k)``, one minor image ``z_k + eps_k/conj(z_k - w)``
    per lens, and the rest spread on the Einstein ring opposite the source.
    Cuts the Ehrlich–Aberth iteration count by ~40% against a blind circle.
    """
    n = zs.shape[0]
    m = n * n + 1
    dw = w - zs
    safe = jnp.where(dw == 0, 1.0, dw)
    major = w + jnp.sum(jnp.where(dw == 0, 0.0, eps / jnp.conj(safe)))
    minors = zs - jnp.where(dw == 0, 1e-3, eps / jnp.conj(safe))
    centre = jnp.sum(eps * zs)
    n_ring = m - 1 - n
    phase = jnp.angle(w - centre) + np.pi + np.linspace(-1.2, 1.2, n_ring)
    ring = centre + jnp.exp(1j * phase)
    return jnp.concatenate([major[None], minors, ring.astype(zs.dtype)])


def _select_images(residual, eps, tol):
    """Mask of true images: the ``n+1`` best residuals always, the rest in passing pairs.

    ``n`` counts the lenses with non-zero mass (a massless third lens adds no image).
    """
    order = jnp.argsort(residual)
    ranked = residual[order]
    m = residual.shape[0]
    n_min = 1 + jnp.sum(eps > 0)
    j = jnp.arange(m)
    partner = n_min + 2 * ((j - n_min) // 2) + 1  # second member of j's pair in the ranking
    pair_ok = (partner < m) & (ranked[jnp.clip(partner, 0, m - 1)] <= tol)
    accept_sorted = (j < n_min) | pair_ok
    return jnp.zeros((m,), dtype=bool).at[order].set(accept_sorted)


def images(w, lens: _Lens, *, z0=None, max_iter: int = DEFAULT_MAX_ITER,
           image_tol: float = DEFAULT_IMAGE_TOL) -> Images:
    """All polynomial roots and the true-image mask for ONE source position ``w``.

    ``w`` is a complex scalar in the lens frame; batch with ``jax.vmap``. ``z0``
    optionally warm-starts the root finder (lens frame). ``max_iter`` and
    ``image_tol`` (relative lens-equation residual) are static.
    """
    w = jnp.asarray(w)
    if w.ndim != 0:
        raise ValueError(f"images takes one source position (a scalar), got shape {w.shape}; use jax.vmap")
    require_float64("images", w, *jax.tree_util.tree_leaves(lens))
    return _images(w, lens, z0, max_iter, image_tol)


@partial(jax.jit, static_argnums=(3, 4))
def _images(w, lens, z0, max_iter, image_tol):
    z, is_image, converged, origin, _, _ = _images_local(w, lens, z0, max_iter, image_tol)
    return Images(z + origin, is_image, converged)


def _images_local(w, lens, z0, max_iter, image_tol, per_root=False):
    """Images in a frame centred on the lightest lens: ``(z, is_image, converged, origin, zs, w)``.

    Everything after the solve (polish, residuals, Jacobians) stays in this frame,
    so an image a hair from a small lens keeps its offset ``z - z_k`` to full
    relative precision (shifting back to the barycentre would round it to ``eps |z|``).
    """
    cdtype = jnp.result_type(w, 1j)
    zs, eps = _geometry(lens, cdtype)
    # the frame of the lightest lens (DESIGN.md §4.1; see _solve_images)
    order = jnp.argsort(eps)
    origin = zs[order[0]]
    w = w.astype(cdtype) - origin
    zs = zs - origin
    start = image_guess(w, zs, eps) if z0 is None else jnp.asarray(z0, cdtype) - origin
    z, is_image, converged = _solve_images(w, zs, eps, jax.lax.stop_gradient(start), max_iter, image_tol, per_root)
    return z, is_image, converged, origin, zs, w


@partial(jax.custom_jvp, nondiff_argnums=(4, 5, 6))
def _solve_images(w, zs, eps, start, max_iter, image_tol, per_root):
    """Roots ``z``, true-image mask and ``converged`` for source ``w`` and lenses ``zs`` (one frame)."""
    order = jnp.argsort(eps)
    z, converged = polynomial_roots(lens_polynomial(w, zs, eps), start, max_iter=max_iter, per_root=per_root)
    # Frames: the polynomial resolves the tight root cluster around a small
    # mass only in a frame centred on it (DESIGN.md §4.1). Solve in the frame
    # of the lightest lens A. For three lenses, a second small mass B leaves a
    # cluster that frame A cannot resolve: there the Ehrlich-Aberth iterates can
    # stall (the backward-error test passes anywhere in a cluster's pseudo-zero
    # set), even holding a root that belongs to A. So refine the roots nearest B
    # in B's frame, then those nearest A in A's frame again, each time with the
    # other roots frozen (they still repel through the Aberth sum, so no root
    # can be taken twice): VBMicrolensing's Multipoly idea (Bozza et al.) with
    # two warm, short solves.
    if zs.shape[0] == 3:
        for lens_index in (order[1], order[0]):
            centre = zs[lens_index]
            nearest = jnp.argmin(_abs2(z[:, None] - zs[None, :]), axis=1)
            refine = nearest == lens_index
            refined, ok = polynomial_roots(lens_polynomial(w - centre, zs - centre, eps), z - centre,
                                           frozen=~refine, max_iter=max_iter)
            z = jnp.where(refine, refined + centre, z)
            converged = converged & ok
    # Polish candidates on the lens equation itself (Newton), keeping a step
    # only where it lowers the residual and the root stays well inside the gap
    # to its nearest neighbour: false roots can sit ~1e-7 from true images in the
    # cluster around a small lens, and must not be pulled onto them (a
    # duplicate image). False roots far from any image (residual above
    # POLISH_GATE) are left alone.
    m = z.shape[0]
    residual = _relative_residual(z, w, zs, eps)
    near = residual < POLISH_GATE
    gaps2 = _abs2(z[:, None] - z[None, :]) + jnp.where(jnp.eye(m, dtype=bool), jnp.inf, 0.0)
    max_move2 = 0.0625 * jnp.min(gaps2, axis=1)  # (a quarter of the gap to the nearest root)**2
    z_start = z
    for _ in range(N_POLISH):
        z_new = _newton_polish(z, w, zs, eps)
        small_step = _abs2(z_new - z_start) < max_move2
        res_new = _relative_residual(z_new, w, zs, eps)
        better = near & small_step & (res_new < residual)
        z = jnp.where(better, z_new, z)
        residual = jnp.where(better, res_new, residual)
    return z, _select_images(residual, eps, image_tol), converged


@_solve_images.defjvp
def _solve_images_jvp(max_iter, image_tol, per_root, primals, tangents):
    """Image motion from the lens equation itself (implicit function theorem), not through the
    polynomial, the iterations or the polish: ``F = z - sum_k eps_k/conj(z - z_k) - w = 0`` gives
    ``dz + g conj(dz) = R`` with ``g`` the shear and ``R = dw + sum_k [deps_k/conj(z - z_k) +
    eps_k conj(dz_k)/conj(z - z_k)**2]``, so ``dz = (R - g conj(R)) / (1 - |g|**2)``. Exact for
    true images; zero on a caustic (``det J = 0``) and meaningless (but finite) for false roots,
    which carry no magnification."""
    w, zs, eps, start = primals
    dw, dzs, deps, _ = tangents
    z, is_image, converged = _solve_images(w, zs, eps, start, max_iter, image_tol, per_root)
    inv = _inverse_offsets(z, zs)
    g = _shear(z, zs, eps)
    r = dw + jnp.sum(deps * inv + eps * inv**2 * jnp.conj(dzs), axis=-1)
    det = 1 - _abs2(g)
    ok = jnp.abs(det) > jnp.finfo(det.dtype).eps
    dz = jnp.where(ok, (r - g * jnp.conj(r)) / jnp.where(ok, det, 1.0), 0.0)
    zero = lambda x: np.zeros(x.shape, dtype=jax.dtypes.float0)  # noqa: E731
    return (z, is_image, converged), (dz, zero(is_image), zero(converged))


def _paczynski(w):
    u2 = jnp.real(w * jnp.conj(w))
    u = jnp.sqrt(u2)
    return (u2 + 2) / (u * jnp.sqrt(u2 + 4))


def _magnification_one(w, lens, max_iter, image_tol):
    z, is_image, _, _, zs, _ = _images_local(w, lens, None, max_iter, image_tol, per_root=True)
    eps = lens.masses().astype(jnp.real(z).dtype)
    det = 1 - _abs2(_shear(jnp.where(is_image, z, zs[0] + 1.0), zs, eps))
    inv = 1 / jnp.abs(jnp.where(is_image, det, 1.0))
    return jnp.sum(jnp.where(is_image, inv, 0.0))


def point_source_magnification(w, lens: _Lens, *, max_iter: int = DEFAULT_MAX_ITER,
                               image_tol: float = DEFAULT_IMAGE_TOL):
    """Point-source magnification ``A = sum_images 1/|det J|`` for ``w`` of any shape.

    ``w`` is complex (lens frame). A ``PointLens`` uses Paczyński's closed form
    ``(u**2 + 2)/(u sqrt(u**2 + 4))``; binary and triple lenses sum over the true
    images from ``images``. Returns a real array of ``w``'s shape.
    """
    w = jnp.asarray(w)
    require_float64("point_source_magnification", w, *jax.tree_util.tree_leaves(lens))
    w = w.astype(jnp.result_type(w, 1j))
    if isinstance(lens, PointLens):
        return _paczynski(w)
    return _magnification_flat(w.reshape(-1), lens, max_iter, image_tol).reshape(w.shape)


@partial(jax.jit, static_argnums=(2, 3))
def _magnification_flat(flat, lens, max_iter, image_tol):
    return jax.vmap(lambda x: _magnification_one(x, lens, max_iter, image_tol))(flat)
