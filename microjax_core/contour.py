"""Uniform-source magnification by contour integration over the limb's images
(Gould & Gaucherel 1997; Dominik 1998; Bozza 2010), in a form with static shapes.

The images of the source disc cover the image-plane region ``R`` whose boundary is
the image of the limb ``w + rho e^{i phi}``. By Green's theorem its area is
``(1/2) oint Im(conj(z) dz)`` with ``R`` on the left. An image of positive parity keeps
the disc on its left as ``phi`` grows, one of negative parity on its right, so

    pi rho**2 A = (1/2) int_0^{2 pi} sum_j Im(conj(z_j) (zeta' - g_j conj(zeta'))) / |det J_j| d phi,

summed over the true images ``z_j`` at each ``phi`` (``zeta' = i rho e^{i phi}``,
``g_j`` the shear, ``dz_j/dphi = (zeta' - g_j conj(zeta'))/det J_j``). No linking of
images between samples is needed: where the limb crosses a caustic a pair of images is
born on the critical curve, the two boundary pieces meet there, and the integrand has
an integrable ``1/sqrt(phi - phi_c)`` edge.

Quadrature, for ONE source position (static sizes ``n_coarse, n_intervals, n_gauss,
max_crossings``):

1. A coarse pass of ``n_coarse`` evenly spaced limb angles: image counts and speeds
   ``sum_j |dz_j/dphi|``.
2. Crossings: in each coarse gap whose image count changes, the born pair's tip on the
   critical curve by 2-D Newton (``icrs_boundary._tips``) from the midpoint of the two
   images without a counterpart at the other end; ``phi_c = arg(zeta(z_c) - w)``.
3. The circle is cut at the crossings and at quantiles of the image-plane arc length
   (piecewise-linear in the coarse speeds) into ``n_intervals`` intervals; each gets
   ``n_gauss`` Gauss-Legendre nodes in ``t``, with ``phi - phi_c ~ t**2`` at a crossing end
   (which makes the square-root edge smooth in ``t``).
4. ``ok`` is False where the result is not trusted: more crossings than
   ``max_crossings``, a tip not found in its gap, an image count that changes inside an
   interval (a pair born and gone within a coarse gap), or an error estimate from the
   tail of each interval's Legendre series (``_tail_error``) above ``tol`` of the total.
   ``magnification`` then tries twice the intervals, then ICRS.

Measured on the benchmark's four uniform curves (benchmarks/RESULTS.md, session 27):
with ``tol = 1e-3`` the first pass trusts 84-93% of the points that need more than the
multipole, and every trusted point is within 2e-5 of VBMicrolensing (median ~1e-10); the
estimate is that conservative. Cost: ~160 image solves per point, ~3x less than ICRS.

The value is differentiable in ``w``, the lens and ``rho``: the images carry implicit-
function derivatives, and a crossing angle moves with its tip; the arc-length cuts are
stop-gradient (the integral does not depend on them).
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .icrs_boundary import _tip_newton_step, _tips
from .point_source import DEFAULT_IMAGE_TOL, DEFAULT_MAX_ITER, _abs2, _images_local, _shear, lens_equation

__all__ = ["contour_magnification", "CONTOUR_DEFAULTS"]

CONTOUR_DEFAULTS = dict(n_coarse=32, n_intervals=16, n_gauss=8, max_crossings=8, tol=1e-3)


def _legendre_rule(n):
    """Gauss-Legendre nodes on [0, 1], weights, and the rows that give a function's four
    highest Legendre coefficients from its values at the nodes (the series' tail)."""
    x, wx = np.polynomial.legendre.leggauss(n)
    tail = np.stack([(2 * k + 1) / 2 * wx * np.polynomial.legendre.Legendre.basis(k)(x) for k in range(n - 4, n)])
    return 0.5 * (x + 1), 0.5 * wx, tail


def _tail_error(f, tail):
    """Error estimate of the Gauss-Legendre sums of the rows of ``f`` (values at the nodes):
    the last Legendre coefficient times the series' decay rate (the largest ratio of
    successive tail coefficients, capped at 1) to the power ``n/2``. Where the integrand
    is resolved the coefficients fall geometrically and the estimate is tiny; where it is
    not (a peak narrower than the nodes) they do not fall and it is the coefficient itself."""
    c = jnp.abs(f @ tail.T)
    n = tail.shape[1]
    ratio = jnp.max(c[:, 1:] / jnp.maximum(c[:, :-1], 1e-300), axis=1)
    return jnp.sum(c[:, -1] * jnp.minimum(ratio, 1.0) ** (n // 2))


def _limb_images(w, lens, rho, phi, max_iter, image_tol, start=None):
    """Images of the limb points at angles ``phi`` (lens-local frame), their mask, the
    numerator of ``dz/dphi`` and ``det J``, and the frame's lenses, source centre, masses
    and origin. ``start``: optional warm start of the roots per angle (global frame)."""
    def one(p, z_start):
        z, ok, _, origin, zs, wl = _images_local(w + rho * jnp.exp(1j * p), lens, z_start,
                                                 max_iter, image_tol, True)
        return z, ok, zs, wl - rho * jnp.exp(1j * p), origin

    z, ok, zs, wl, origin = jax.vmap(one)(phi, start)
    zs, wl, origin = zs[0], wl[0], origin[0]
    eps = lens.masses().astype(jnp.real(z).dtype)
    g = _shear(jnp.where(ok, z, zs[0] + 1.0), zs, eps)
    det = 1 - _abs2(g)
    dzeta = (1j * rho * jnp.exp(1j * phi))[:, None]
    zdot_num = dzeta - g * jnp.conj(dzeta)
    det = jnp.where(ok, det, 1.0)
    return z, ok, zdot_num, det, zs, wl, eps, origin


def _warm_start(phi, phi0, z0, ok0, num0, det0, origin):
    """Start for the roots at ``phi``: the nearest coarse sample's roots, true images
    moved along ``dz/dphi`` (a step kept below a tenth of the gap to the nearest other
    root); returned in the global frame that ``_images_local`` takes."""
    n0 = phi0.shape[0]
    h = 2 * np.pi / n0
    k = jnp.mod(jnp.round((phi - phi0[0]) / h).astype(jnp.int32), n0)
    d = jnp.mod(phi - phi0[k] + np.pi, 2 * np.pi) - np.pi
    z, ok = z0[k], ok0[k]
    step = num0[k] / det0[k] * d[:, None]
    m = z0.shape[1]
    gap2 = jnp.min(_abs2(z[:, :, None] - z[:, None, :]) + jnp.where(jnp.eye(m, dtype=bool), jnp.inf, 0.0), axis=2)
    move = ok & (_abs2(step) < 0.01 * gap2)
    return jax.lax.stop_gradient(jnp.where(move, z + step, z) + origin)


def _integrand(z, ok, zdot_num, det):
    """``sum_j Im(conj(z_j) dz_j/dphi) sign(det J_j)`` per limb angle."""
    val = jnp.imag(jnp.conj(z) * zdot_num) / jnp.abs(det)
    return jnp.sum(jnp.where(ok, val, 0.0), axis=-1)


def _tip_step(z, w, rho, zs, eps):
    """One Newton step from a converged (stop-gradient) tip: its value polishes the tip,
    its derivative is the implicit one."""
    step = _tip_newton_step(jnp.stack([jnp.real(z), jnp.imag(z)]), w, rho, zs, eps)
    return z - (step[0] + 1j * step[1])


def _crossings(z0, ok0, phi0, wl, rho, zs, eps, max_crossings):
    """Limb angles where the image count changes (a pair born on the critical curve),
    one per coarse gap whose count changes; ``(phi_c, used, ok)``."""
    n0 = phi0.shape[0]
    count = jnp.sum(ok0, axis=1)
    nxt = jnp.roll(jnp.arange(n0), -1)
    change = count != count[nxt]
    n_change = jnp.sum(change)
    # the gaps that change, first ones first (a static handful)
    rank = jnp.cumsum(change) - 1
    slot = jnp.where(change & (rank < max_crossings), rank, max_crossings)
    gap = jnp.full((max_crossings + 1,), 0).at[slot].set(jnp.arange(n0))[:max_crossings]
    used = jnp.arange(max_crossings) < n_change
    a, b = gap, nxt[gap]
    rich = jnp.where(count[a] > count[b], a, b)
    poor = jnp.where(count[a] > count[b], b, a)
    zr, okr, zp, okp = z0[rich], ok0[rich], z0[poor], ok0[poor]
    # the rich end's two images farthest from every image of the poor end: the born pair
    d = jnp.where(okp[:, None, :], jnp.abs(zr[:, :, None] - zp[:, None, :]), jnp.inf)
    lone = jnp.where(okr, jnp.min(d, axis=2), -1.0)
    i1 = jnp.argmax(lone, axis=1)
    lone2 = lone.at[jnp.arange(max_crossings), i1].set(-1.0)
    i2 = jnp.argmax(lone2, axis=1)
    p1 = jnp.take_along_axis(zr, i1[:, None], 1)[:, 0]
    p2 = jnp.take_along_axis(zr, i2[:, None], 1)[:, 0]
    sep = jnp.abs(jax.lax.stop_gradient(p1 - p2))
    tip, res = _tips(jax.lax.stop_gradient(0.5 * (p1 + p2)), jnp.maximum(sep, 1e-12), jax.lax.stop_gradient(wl),
                     jax.lax.stop_gradient(rho), jax.lax.stop_gradient(zs), jax.lax.stop_gradient(eps), n_steps=16)
    tip = jax.vmap(lambda z: _tip_step(z, wl, rho, zs, eps))(jax.lax.stop_gradient(tip))
    phi_c = jnp.angle(lens_equation(tip, zs, eps) - wl)
    # inside its gap (mod 2 pi)
    h = 2 * np.pi / n0
    offset = jnp.mod(jax.lax.stop_gradient(phi_c) - phi0[a], 2 * np.pi)
    inside = (offset <= h * (1 + 1e-9)) | (offset >= 2 * np.pi - 1e-9 * h)
    pair = (jnp.abs(count[a] - count[b]) == 2) & (lone2[jnp.arange(max_crossings), i2] > 0)
    good = ~used | (inside & (res < 1e-9) & pair)
    ok = (n_change <= max_crossings) & jnp.all(good)
    phi_c = phi0[a] + jnp.where(offset >= 2 * np.pi - 1e-9 * h, 0.0, offset) + (phi_c - jax.lax.stop_gradient(phi_c))
    return phi_c, used, ok


def _cuts(phi0, speed, phi_c, used, n_intervals):
    """Interval ends: the crossings, then quantiles of the image-plane arc length for the
    rest of the ``n_intervals`` (piecewise linear in the coarse speeds). Sorted, with
    their crossing flags."""
    n0 = phi0.shape[0]
    h = 2 * np.pi / n0
    dens = jax.lax.stop_gradient(speed)
    dens = jnp.maximum(dens, 1e-3 * jnp.mean(dens))
    cell = 0.5 * h * (dens + jnp.roll(dens, -1))
    cdf = jnp.concatenate([jnp.zeros(1), jnp.cumsum(cell)])
    edges = jnp.concatenate([phi0, phi0[:1] + 2 * np.pi])
    n_used = jnp.sum(used)
    m = n_intervals - n_used
    k = jnp.arange(n_intervals)
    quant = jnp.interp(k / jnp.maximum(m, 1) * cdf[-1], cdf, edges)
    # slots past the m quantiles take the crossings
    j = jnp.clip(k - m, 0, phi_c.shape[0] - 1)
    cross = k >= m
    ends = jnp.where(cross, jnp.mod(phi_c[j], 2 * np.pi), jax.lax.stop_gradient(quant))
    order = jnp.argsort(jax.lax.stop_gradient(ends))
    return ends[order], cross[order]


def _contour_one(w, lens, rho, n_coarse, n_intervals, n_gauss, max_crossings, tol, max_iter, image_tol):
    """Uniform-source magnification and ``ok`` for one source position (see module doc)."""
    phi0 = jnp.asarray(2 * np.pi * np.arange(n_coarse) / n_coarse)
    z0, ok0, num0, det0, zs, wl, eps, origin = _limb_images(w, lens, rho, phi0, max_iter, image_tol)
    speed = jnp.sum(jnp.where(ok0, jnp.sqrt(_abs2(num0)) / jnp.abs(det0), 0.0), axis=1)
    phi_c, used, ok = _crossings(z0, ok0, phi0, wl, rho, zs, eps, max_crossings)
    a, ca = _cuts(phi0, speed, phi_c, used, n_intervals)
    b, cb = jnp.roll(a, -1).at[-1].add(2 * np.pi), jnp.roll(ca, -1)
    t, wt, tail = _legendre_rule(n_gauss)
    ca, cb = ca[:, None], cb[:, None]
    # phi - phi_c ~ t**2 at a crossing end: the square-root edge becomes smooth in t
    u = jnp.where(ca & cb, 0.5 * (1 - np.cos(np.pi * t)),
                  jnp.where(ca, 1 - np.cos(0.5 * np.pi * t), jnp.where(cb, np.sin(0.5 * np.pi * t), t)))
    du = jnp.where(ca & cb, 0.5 * np.pi * np.sin(np.pi * t),
                   jnp.where(ca, 0.5 * np.pi * np.sin(0.5 * np.pi * t), jnp.where(cb, 0.5 * np.pi * np.cos(0.5 * np.pi * t), 1.0)))
    length = (b - a)[:, None]
    phi = a[:, None] + length * u
    phi = phi.reshape(-1)
    start = _warm_start(jax.lax.stop_gradient(phi), phi0, z0, ok0, num0, det0, origin)
    z, okz, num, det, *_ = _limb_images(w, lens, rho, phi, max_iter, image_tol, start)
    phi = phi.reshape(length.shape[0], -1)
    f = _integrand(z, okz, num, det).reshape(phi.shape) * length * du  # (intervals, nodes) in t
    area = 0.5 * jnp.sum(f * wt)
    # trust: one image count per interval, and a small Legendre tail in every interval
    counts = jnp.sum(okz, axis=1).reshape(phi.shape)
    same = jnp.all(counts == counts[:, :1])
    err = 0.5 * _tail_error(jax.lax.stop_gradient(f), tail)
    ok = ok & same & (err <= tol * jnp.abs(jax.lax.stop_gradient(area))) & jnp.isfinite(area)
    return area / (np.pi * rho**2), ok


def contour_magnification(w, lens, rho, *, n_coarse: int = 32, n_intervals: int = 16, n_gauss: int = 8,
                          max_crossings: int = 8, tol: float = 1e-3, max_iter: int = DEFAULT_MAX_ITER,
                          image_tol: float = DEFAULT_IMAGE_TOL):
    """Uniform-source magnification of binary or triple lenses by contour integration.

    ``w`` complex, any shape; ``rho`` may be traced. Returns ``(magnification, ok)``
    arrays of ``w``'s shape; where ``ok`` is False the value is not trusted (module doc).
    """
    w = jnp.asarray(w)
    w = w.astype(jnp.result_type(w, 1j))
    rho = jnp.asarray(rho, jnp.real(w).dtype)
    a, ok = _contour_flat(w.reshape(-1), lens, rho, int(n_coarse), int(n_intervals), int(n_gauss),
                          int(max_crossings), float(tol), int(max_iter), float(image_tol))
    return a.reshape(w.shape), ok.reshape(w.shape)


@partial(jax.jit, static_argnums=tuple(range(3, 10)))
def _contour_flat(w, lens, rho, n_coarse, n_intervals, n_gauss, max_crossings, tol, max_iter, image_tol):
    return jax.vmap(lambda x: _contour_one(x, lens, rho, n_coarse, n_intervals, n_gauss, max_crossings, tol,
                                           max_iter, image_tol))(w)
