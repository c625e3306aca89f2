"""Finite-source magnification by image-centred ray shooting (ICRS; Bennett 2010),
in the 1-D "crossing" form of DESIGN.md §4.4 (microJAX, Miyazaki & Kawahara 2025,
is the 2-D grid version).

For ONE source position ``w`` of radius ``rho``:

1. **Limb and regions** (``icrs_boundary``, ``icrs_regions``): polar boxes, one per
   Voronoi cell of the source centre's roots, fitted to the images' boundary samples.
2. **Lines**: each region gets ``n_theta`` lines of constant ``theta``. The region's
   ``theta`` range is cut where the Voronoi bisectors cross it and where its boundary
   turns back in ``theta`` inside it (``_interior_tangents``); sectors no boundary sample
   vouches for, and pieces outside the cell, get no lines; every other piece is
   mapped by ``theta = a + l (1 + sin(pi u/2))/2``: the chord length's square-root
   edges (tangent points at the region's ends) and jumps (a cut across an image) sit
   where ``dtheta/du`` vanishes. Along a line, clipped exactly to the Voronoi cell
   (an interval: the cell is convex, the line straight) and narrowed to the ``r``
   range that boundary samples at that angle allow, ``d(r)**2 - rho**2`` and its slope
   are sampled at ``n_r`` nodes, plus one node in each of the two intervals whose cubic
   Hermite interpolant hides a pair of crossings (a thin sliver of image between nodes);
   each sign change (the first ``2 max_segments`` of a line) starts at the root of that
   interpolant and is refined by Newton steps (safeguarded to its bracket, on fixed
   parameters; the crossing's derivative is the implicit-function one, ``-f_p/f_r``,
   ``_crossing``);
   a uniform source contributes exactly ``(r_out**2 - r_in**2)/2`` per inside
   segment. Limb darkening adds the brightness minus its limb value, integrated by
   Gauss-Legendre in ``x = sin(pi t/2)**2`` along each segment (smooth although the
   brightness has a square-root edge at the limb).
3. ``A = (sum over regions and lines of weight x line integral) / (pi rho**2)``.

No surrogate functions: the value is continuous in every parameter because the
crossings move continuously, and gradients are those of the value itself (the region
limits co-move with the images; the partition and all discrete choices carry no
gradient). Static: ``n_limb, n_theta, n_r, n_gl, max_segments, n_newton``.
``overflow`` flags a line with more than ``max_segments`` inside segments
(limb-darkened sources only: that segment's LD excess would be dropped).
"""
from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._select import top_k_small
from .limb_darkening import as_profile
from .icrs_boundary import _boundary, _resampled_limb
from .icrs_regions import _cell_clip, _line_limits, _regions, _theta_nodes, _voronoi_cuts
from .point_source import DEFAULT_IMAGE_TOL, DEFAULT_MAX_ITER, _images_local, _shear, lens_equation

__all__ = ["ICRSResult", "icrs_magnification", "ICRS_DEFAULTS"]

ICRS_DEFAULTS = dict(n_limb=128, n_theta=64, n_r=16, n_gl=8, max_segments=4, n_newton=3)


class ICRSResult(NamedTuple):
    magnification: jax.Array
    overflow: jax.Array  # bool: some line had more inside segments than max_segments (LD only)


def _gauss_legendre_sin2(n):
    """Nodes ``x`` in [0, 1] and weights for ``int_0^1 g(x) dx`` with ``x = sin(pi t/2)**2``."""
    t, wt = np.polynomial.legendre.leggauss(n)
    t = 0.5 * (t + 1.0)
    wt = 0.5 * wt
    x = np.sin(0.5 * np.pi * t) ** 2
    dx = 0.5 * np.pi * np.sin(np.pi * t)
    return x, wt * dx


def _boundary_and_slope(r, pole, e, w, rho, zs, eps):
    """``f = |zeta(pole + r e) - w|**2 - rho**2`` (negative inside the images) and ``df/dr``."""
    z = pole + r * e
    d = lens_equation(z, zs, eps) - w
    dzeta = e + _shear(z, zs, eps) * jnp.conj(e)
    return jnp.real(d * jnp.conj(d)) - rho**2, 2 * jnp.real(jnp.conj(d) * dzeta)


@jax.custom_jvp
def _crossing(r, pole, e, w, rho, zs, eps):
    """A root ``r`` of ``f(r; pole, e, w, rho, lens)`` found by Newton, as a function of the
    parameters: its derivative is the implicit-function one, ``dr = -df / (df/dr)``."""
    return r


@_crossing.defjvp
def _crossing_jvp(primals, tangents):
    r, *params = primals
    _, df = jax.jvp(lambda *p: _boundary_and_slope(r, *p)[0], tuple(params), tuple(tangents[1:]))
    slope = _boundary_and_slope(r, *params)[1]
    return r, jnp.where(slope == 0, 0.0, -df / jnp.where(slope == 0, 1.0, slope))


_HERMITE_T = (np.arange(4) + 0.5) / 4
_HERMITE = np.stack([2 * _HERMITE_T**3 - 3 * _HERMITE_T**2 + 1, _HERMITE_T**3 - 2 * _HERMITE_T**2 + _HERMITE_T,
                     -2 * _HERMITE_T**3 + 3 * _HERMITE_T**2, _HERMITE_T**3 - _HERMITE_T**2])  # (4, 4)
MISSED_PAIRS = 2  # node intervals per line searched for a pair of crossings between their nodes


def _nodes_with_missed_pairs(r, f_and_df):
    """The line's nodes ``r`` and ``f(r)``, with one extra node in each of the ``MISSED_PAIRS``
    node intervals most likely to hide a pair of crossings (both ends on the same side of the
    boundary, the cubic Hermite interpolant of ``f`` and ``df/dr`` dipping to the other side:
    a thin piece of an image, or a thin gap between two, between nodes). Where the extra
    node confirms it, the interval holds two sign changes that are refined like any other.
    Returns ``(r, f, df/dr)`` at ``2 len(r) - 1`` nodes (an unused extra node repeats its left node).
    """
    f, df = f_and_df(r)
    fa, fb = f[:-1], f[1:]
    h = r[1:] - r[:-1]
    ma, mb = df[:-1] * h, df[1:] * h
    side = jnp.where(fa > 0, 1.0, -1.0)
    # the interpolant at the probes, elementwise (a stacked (n - 1, 4) matmul costs XLA on a
    # CPU a materialised copy per line); > 0: the ends' side
    low, k = None, None
    for j, (c0, c1, c2, c3) in enumerate(_HERMITE.T):
        p = (fa * c0 + ma * c1 + fb * c2 + mb * c3) * side
        k = jnp.zeros(p.shape, jnp.int32) if low is None else jnp.where(p < low, j, k)
        low = p if low is None else jnp.minimum(low, p)
    score = low / jnp.maximum(jnp.minimum(jnp.abs(fa), jnp.abs(fb)), 1e-300)
    suspect = ((fa > 0) == (fb > 0)) & (score < 0.25)
    n_pick = min(MISSED_PAIRS, fa.shape[0])
    _, pick = top_k_small(jnp.where(suspect, -score, -jnp.inf), n_pick)
    r_new = r[pick] + h[pick] * jnp.asarray(_HERMITE_T)[k[pick]]
    f_new, df_new = f_and_df(r_new)
    use = suspect[pick]
    r_mid = r[:-1].at[pick].set(jnp.where(use, r_new, r[pick]))
    f_mid = fa.at[pick].set(jnp.where(use, f_new, fa[pick]))
    df_mid = df[:-1].at[pick].set(jnp.where(use, df_new, df[pick]))

    def interleave(a, mid):
        return jnp.concatenate([jnp.stack([a[:-1], mid], axis=1).reshape(-1), a[-1:]])

    return interleave(r, r_mid), interleave(f, f_mid), interleave(df, df_mid)


def _hermite_root(fa, ma, fb, mb, n_steps=4):
    """The root in [0, 1] of the cubic Hermite interpolant with values ``fa, fb`` (opposite
    signs) and slopes ``ma, mb`` (per unit ``t``) at its ends: Newton on the cubic,
    safeguarded by bisection of the bracket. Exact for a quadratic ``f``, so a crossing
    next to a shallow minimum (a line grazing an image) starts where the secant cannot."""
    lo, hi = jnp.zeros_like(fa), jnp.ones_like(fa)
    sign_lo = fa < 0
    t = jnp.clip(fa / jnp.where(fa == fb, 1.0, fa - fb), 0.0, 1.0)
    for _ in range(n_steps):
        t2, t3 = t * t, t * t * t
        p = fa * (2 * t3 - 3 * t2 + 1) + ma * (t3 - 2 * t2 + t) + fb * (3 * t2 - 2 * t3) + mb * (t3 - t2)
        dp = 6 * (fa - fb) * (t2 - t) + ma * (3 * t2 - 4 * t + 1) + mb * (3 * t2 - 2 * t)
        same = (p < 0) == sign_lo
        lo, hi = jnp.where(same, t, lo), jnp.where(same, hi, t)
        cand = t - p / jnp.where(dp == 0, 1.0, dp)
        t = jnp.where((dp != 0) & (cand > lo) & (cand < hi), cand, 0.5 * (lo + hi))
    return t


def _line(pole, e, r_lo, r_hi, k, limits, centres, w, rho, zs, eps, profile, uniform, n_r, n_newton, gl,
          max_segments):
    """Integral of brightness * r dr along ``pole + r e``, ``r`` in [r_lo, r_hi] ∩ cell ``k``,
    narrowed to where boundary samples near this line's angle say the image can be."""
    lo, hi, ok = _cell_clip(pole, e, r_lo, r_hi, k, centres)  # exact Voronoi clip
    lo = jnp.where(ok, lo, 0.0)
    hi = jnp.where(ok, hi, 0.0)

    # where the line crosses the boundary is found on fixed parameters; its derivative
    # is the implicit one (``_crossing``), not that of the node values and Newton steps
    fixed = jax.lax.stop_gradient((pole, e, w, rho, zs, eps))

    def f_and_df(r):
        return _boundary_and_slope(r, *fixed)

    # Every place this line crosses the image boundary lies between boundary samples
    # whose angle is within their window of the line's: the image on this line is
    # within their r range, or reaches the clipped ends where those are inside it.
    near_lo, near_hi, any_near = limits
    f_lo, _ = f_and_df(lo)
    f_hi, _ = f_and_df(hi)
    lo2 = jnp.where(any_near & (f_lo >= 0), jnp.maximum(lo, near_lo), lo)
    hi2 = jnp.where(any_near & (f_hi >= 0), jnp.minimum(hi, near_hi), hi)
    ok = ok & (hi2 > lo2)
    lo = jnp.where(ok, lo2, 0.0)
    hi = jnp.where(ok, hi2, 0.0)

    s = jnp.linspace(0.0, 1.0, n_r)
    r, f, df = _nodes_with_missed_pairs(lo + (hi - lo) * s, f_and_df)
    n_nodes = r.shape[0]
    fa, fb = f[:-1], f[1:]
    ra, rb = r[:-1], r[1:]
    change = (fa < 0) != (fb < 0)
    denom = jnp.where(change, fa - fb, 1.0)
    rs = jnp.where(change, ra + (rb - ra) * fa / denom, ra)
    # the root of the cubic Hermite interpolant, then Newton and the crossing's derivative,
    # only on the first ``n_fine`` sign changes (a line crosses the boundary a few times, not at
    # each of its intervals: 3x fewer lens-equation evaluations); changes past them (none in
    # practice) keep their secant value
    n_fine = min(2 * max_segments, n_nodes - 1)
    order = jnp.cumsum(change) - 1
    slot = jnp.where(change & (order < n_fine), order, n_fine)
    at = jnp.zeros((n_fine + 1,), jnp.int32).at[slot].set(jnp.arange(n_nodes - 1, dtype=jnp.int32))[:n_fine]
    fine = jnp.arange(n_fine) < jnp.sum(change)
    ra_f, rb_f = ra[at], rb[at]
    h_f = rb_f - ra_f
    rf = ra_f + h_f * _hermite_root(fa[at], df[:-1][at] * h_f, fb[at], df[1:][at] * h_f)
    for _ in range(n_newton):
        fv, dfv = f_and_df(rf)
        step = fv / jnp.where(dfv == 0, 1.0, dfv)
        cand = rf - jnp.where(dfv == 0, 0.0, step)
        inside = (cand >= ra_f) & (cand <= rb_f)
        rf = jnp.where(fine & inside, cand, rf)
    rf = _crossing(rf, pole, e, w, rho, zs, eps)
    rs = rs.at[jnp.where(fine, at, n_nodes - 1)].set(rf, mode="drop")
    exiting = fa < 0
    half_sq = 0.5 * rs**2
    uni = jnp.sum(jnp.where(change, jnp.where(exiting, half_sq, -half_sq), 0.0))
    uni = uni - jnp.where(f[0] < 0, 0.5 * lo**2, 0.0) + jnp.where(f[-1] < 0, 0.5 * hi**2, 0.0)
    uni = jnp.where(ok, uni, 0.0)
    if uniform:
        return uni, jnp.array(False)
    # limb darkening: segments [in, out] from the ordered events
    ev_mask = jnp.concatenate([(f[0] < 0)[None], change, (f[-1] < 0)[None]]) & ok
    ev_val = jnp.concatenate([lo[None], rs, hi[None]])
    idx = jnp.cumsum(ev_mask) - 1
    n_ev = 2 * max_segments
    slots = jnp.where(ev_mask & (idx < n_ev), idx, n_ev)
    events = jnp.zeros((n_ev + 1,), ev_val.dtype).at[slots].set(ev_val)[:n_ev]
    count = jnp.sum(ev_mask)
    overflow = count > n_ev
    r_in, r_out = events[0::2], events[1::2]
    seg_ok = 2 * jnp.arange(max_segments) + 1 < count
    x, wx = gl
    rr = r_in[:, None] + (r_out - r_in)[:, None] * x[None, :]
    z = pole + rr * e
    d = lens_equation(z, zs, eps) - w
    mu2 = jnp.clip(1 - jnp.real(d * jnp.conj(d)) / rho**2, 0.0, 1.0)
    # at the limb (mu = 0: unused slots, a node on the edge) sqrt and the square-root
    # law have infinite slopes: keep them out of the gradient (0 * inf = NaN)
    inside = mu2 > 0
    mu = jnp.sqrt(jnp.where(inside, mu2, 1.0))
    excess = jnp.where(inside, profile.brightness(mu) - profile.brightness(jnp.zeros_like(mu)), 0.0)
    seg = jnp.sum(excess * rr * wx[None, :], axis=1) * (r_out - r_in)
    ld = jnp.sum(jnp.where(seg_ok, seg, 0.0))
    edge = profile.brightness(jnp.zeros(()))
    return edge * uni + ld, overflow


def _icrs_regions(w, lens, rho, profile, n_limb, n_theta, n_r, n_gl, max_segments, n_newton, max_iter, image_tol):
    z_c, _, _, origin, zs, wl = _images_local(w, lens, None, max_iter, image_tol)
    eps = lens.masses().astype(jnp.real(wl).dtype)
    centres = jax.lax.stop_gradient(z_c)  # the partition is arbitrary: no gradient through it

    def limb_images(phi):
        limb = wl + rho * jnp.exp(1j * phi)
        z, ok, *_ = jax.vmap(lambda x: _images_local(x + origin, lens, z_c + origin, max_iter, image_tol))(limb)
        return z, ok

    n0 = max(n_limb // 4, 16)
    phi0 = jnp.asarray(2 * np.pi * (np.arange(n0) + 0.5) / n0)
    phi = _resampled_limb(phi0, *limb_images(phi0), n_limb, rho, zs, eps)
    z_l, ok_l = limb_images(phi)
    samples, triplets, guides, chain = _boundary(z_l, ok_l, wl, rho, phi, zs, eps, centres)
    poles = jnp.concatenate([zs, -origin[None]])
    pole, r_lo, r_hi, theta_mid, half, full, empty, guide, tangents, sectors = _regions(samples, triplets, guides, centres,
                                                                                poles, chain)
    gl = tuple(jnp.asarray(a) for a in _gauss_legendre_sin2(n_gl))
    k_all = jnp.arange(centres.shape[0])
    # where the bisectors cross the box's inner and outer circles: a thin image meets a slanted
    # bisector between the two, so the jump of the line integral lies between two breakpoints
    cuts = jax.vmap(lambda p, lo, hi, tm, k: jnp.concatenate([_voronoi_cuts(p, lo, tm, k, centres),
                                                             _voronoi_cuts(p, hi, tm, k, centres)]))(
        pole, r_lo, r_hi, theta_mid, k_all)
    cuts = jnp.concatenate([cuts, tangents], axis=1)

    def nodes(h, c, sec, p, lo, hi, tm, k):
        def in_cell(rel):
            return jax.vmap(lambda t: _cell_clip(p, jnp.exp(1j * (tm + t)), lo, hi, k, centres)[2])(rel)
        return _theta_nodes(h, c, n_theta, sec, in_cell)

    rel, weight = jax.vmap(nodes)(half, cuts, sectors, pole, r_lo, r_hi, theta_mid, k_all)  # (K, T)
    theta = theta_mid[:, None] + rel
    e = jnp.exp(1j * theta)
    k_idx = jnp.broadcast_to(jnp.arange(centres.shape[0])[:, None], theta.shape)
    line = partial(_line, w=wl, rho=rho, zs=zs, eps=eps, profile=profile, uniform=profile.is_uniform,
                   n_r=n_r, n_newton=n_newton, gl=gl, max_segments=max_segments, centres=centres)

    limits = jax.lax.stop_gradient(jax.vmap(_line_limits)(rel, theta_mid, guide))  # (K, T) each
    vals, over = jax.vmap(jax.vmap(line, in_axes=(None, 0, None, None, 0, 0)), in_axes=(0, 0, 0, 0, 0, 0))(
        pole, e, r_lo, r_hi, k_idx, limits)
    per_region = jnp.sum(jnp.where(empty[:, None], 0.0, vals * weight), axis=1) / (np.pi * rho**2)
    return per_region, jnp.any(over)


def _icrs_one(*args):
    per_region, over = _icrs_regions(*args)
    return jnp.sum(per_region), over


@partial(jax.jit, static_argnums=tuple(range(4, 12)))
def _icrs_flat(w, lens, rho, profile, n_limb, n_theta, n_r, n_gl, max_segments, n_newton, max_iter, image_tol):
    return jax.vmap(lambda x: _icrs_one(x, lens, rho, profile, n_limb, n_theta, n_r, n_gl, max_segments,
                                        n_newton, max_iter, image_tol))(w)


def icrs_magnification(w, lens, rho, limb_darkening=None, *, n_limb: int = 128, n_theta: int = 64,
                       n_r: int = 16, n_gl: int = 8, max_segments: int = 4, n_newton: int = 3,
                       max_iter: int = DEFAULT_MAX_ITER, image_tol: float = DEFAULT_IMAGE_TOL) -> ICRSResult:
    """Finite-source magnification by ICRS for source centres ``w`` (any shape, complex).

    ``rho`` and the limb-darkening coefficients are traced; the grid sizes are static.
    ``n_limb`` 128 (the default) and 256 (``magnification(accuracy="high")``) are the grids measured
    on whole curves; 384 and 512 on the points that once made them worse (benchmarks/RESULTS.md).
    Returns ``ICRSResult(magnification, overflow)`` with ``w``'s shape.
    """
    w = jnp.asarray(w)
    w = w.astype(jnp.result_type(w, 1j))
    profile = as_profile(limb_darkening)
    rho = jnp.asarray(rho, jnp.real(w).dtype)
    a, over = _icrs_flat(w.reshape(-1), lens, rho, profile, n_limb, n_theta, n_r, n_gl, max_segments,
                         n_newton, max_iter, image_tol)
    return ICRSResult(a.reshape(w.shape), over.reshape(w.shape))
