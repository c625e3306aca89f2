"""ICRS image-boundary samples (DESIGN.md §4.4 step 1): where the limb's images lie.

For one source position the limb is sampled evenly in image-plane arc length
(``_resampled_limb``: a coarse pass, then samples placed by the cumulative
``|dz/dphi|`` and by the chords between neighbouring samples' images, a static-shape
form of adaptive limb sampling, Bozza 2010). Each limb image is tracked by Newton to
the limb half a step either side (so the region boxes can take the extremes of a
parabola through the three, error ~step**3), and the exact tips where two images
merge on the critical curve are found by 2-D Newton on ``|zeta - w| = rho``,
``det J = 0``, from the fastest samples and from "lonely" ones (an image whose
neighbouring limb sample has fewer images: the pair merges in the gap). Each sample
is assigned to the Voronoi cells whose boxes it bounds (``icrs_regions``).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._select import top_k_small
from .point_source import _newton_polish, _shear, lens_equation

ISO = 0.02  # isotropic box margin, in sample spacings (sag of the boundary between samples)
N_TIPS = 16  # tips searched from this many of the fastest-running limb samples
UNTRACKED = 0.05  # box margin of an untracked sample, as a fraction of its farther gap
BAND_SAMPLES = 128  # limb samples at which the cut band's width (2 gaps) is set

def _track(z, target, zs, eps, n_steps=3):
    """Newton-polish image-plane points ``z`` onto images of ``target``."""
    for _ in range(n_steps):
        z = _newton_polish(z, target, zs, eps)
    return z


def _tip_equations(xy, w, rho, zs, eps):
    """``|zeta(z) - w|**2/rho**2 - 1`` and ``det J(z)`` at ``z = x + iy``: both vanish at a tip."""
    zz = xy[0] + 1j * xy[1]
    d = lens_equation(zz, zs, eps) - w
    return jnp.stack([jnp.real(d * jnp.conj(d)) / rho**2 - 1.0, 1.0 - jnp.abs(_shear(zz, zs, eps)) ** 2])


def _tip_newton_step(xy, w, rho, zs, eps):
    """The full Newton step for ``_tip_equations`` at ``xy`` (zero where the Jacobian is singular)."""
    J = jax.jacfwd(_tip_equations)(xy, w, rho, zs, eps)
    det = J[0, 0] * J[1, 1] - J[0, 1] * J[1, 0]
    f = _tip_equations(xy, w, rho, zs, eps)
    step = jnp.stack([J[1, 1] * f[0] - J[0, 1] * f[1], -J[1, 0] * f[0] + J[0, 0] * f[1]])
    return jnp.where(det != 0, step / jnp.where(det != 0, det, 1.0), 0.0)


def _tips(z, cap, w, rho, zs, eps, n_steps=10):
    """Where the image boundary crosses the critical curve, by 2-D Newton from ``z``:
    solve ``|zeta(z) - w|**2/rho**2 - 1 = 0`` and ``det J(z) = 0``. There two images
    merge; the boundary's extreme along the critical curve lies at that point."""

    def solve(z0, cap):
        xy = jnp.stack([jnp.real(z0), jnp.imag(z0)])
        for _ in range(n_steps):
            step = _tip_newton_step(xy, w, rho, zs, eps)
            norm = jnp.sqrt(jnp.sum(step**2))
            xy = xy - step * jnp.minimum(1.0, cap / jnp.maximum(norm, 1e-300))  # damped: stay local
        return xy[0] + 1j * xy[1], jnp.max(jnp.abs(_tip_equations(xy, w, rho, zs, eps)))

    return jax.vmap(solve)(z, cap)


def _zdot(z, unit, rho, zs, eps):
    """``dz/dphi`` of the image of the limb point ``w + rho e^{i phi}`` (inverse lens map)."""
    g = _shear(z, zs, eps)
    dw = 1j * rho * unit
    det = 1 - jnp.abs(g) ** 2
    return (dw - g * jnp.conj(dw)) / jnp.where(det == 0, 1e-300, det)


def _resampled_limb(phi0, z0, ok0, n_limb, rho, zs, eps):
    """``n_limb`` limb angles spaced evenly in image-plane arc length (plus a floor).

    A static-shape version of adaptive limb sampling (Bozza 2010): where the images
    run fast along the boundary (near critical curves, and as ``1/sqrt`` near a
    tip), the coarse pass ``phi0`` puts more of the fine samples.
    """
    speed = jnp.sum(jnp.where(ok0, jnp.abs(_zdot(z0, jnp.exp(1j * phi0)[:, None], rho, zs, eps)), 0.0), axis=1)
    n0 = phi0.shape[0]
    h0 = 2 * np.pi / n0
    # between two coarse samples the images may run much farther than the speeds at the samples
    # say: where the limb crosses a caustic a pair of images merges (or is born) in the gap, and
    # the boundary runs out to the tip and back. The chords from each image to the nearest image
    # of the neighbouring sample measure that run (two images far apart: a long way between)
    z_prev, ok_prev = jnp.roll(z0, 1, axis=0), jnp.roll(ok0, 1, axis=0)
    d = jnp.abs(z0[:, :, None] - z_prev[:, None, :])
    d = jnp.where(ok0[:, :, None] & ok_prev[:, None, :], d, jnp.inf)
    chord = jnp.maximum(jnp.sum(jnp.where(ok0, jnp.min(d, axis=2), 0.0), axis=1),
                        jnp.sum(jnp.where(ok_prev, jnp.min(d, axis=1), 0.0), axis=1))
    mean = jnp.mean(speed)
    tame = lambda v: jnp.sqrt(v * mean) + 0.25 * mean  # noqa: E731  (tame 1/sqrt spikes, keep a floor)
    # piecewise-linear density on the periodic grid -> cumulative, inverted at even quantiles
    edges = jnp.concatenate([phi0 - 0.5 * h0, phi0[-1:] + 0.5 * h0])
    mid = tame(jnp.maximum(0.5 * (speed + jnp.roll(speed, 1)), chord / h0))  # density at the cell edges
    speed = tame(speed)
    mid = jnp.concatenate([mid, mid[:1]])
    cell = 0.5 * h0 * (0.5 * (mid[:-1] + speed) + 0.5 * (speed + mid[1:]))
    cdf = jnp.concatenate([jnp.zeros(1), jnp.cumsum(cell)])
    quant = (jnp.arange(n_limb) + 0.5) / n_limb * cdf[-1]
    return jax.lax.stop_gradient(jnp.interp(quant, cdf, edges))


def _boundary(z_l, ok_l, wl, rho, phi, zs, eps, centres):
    """Image-boundary samples for the region boxes.

    Returns ``(points, ok, (along, iso))`` (flat; margins: a complex vector along the
    boundary and an isotropic length) and ``(z_minus, z_0, z_plus, ok3)``: each
    limb image tracked by Newton to the limb half a step either side, so the boxes
    can take the extremes of a parabola through the three (error ~ step**3), plus
    the exact tips where a pair of images merges on the critical curve.
    """
    gap = jnp.mod(jnp.roll(phi, -1) - phi, 2 * np.pi)  # to the next sample
    h = jnp.minimum(gap, jnp.roll(gap, 1))[:, None]  # symmetric step for the parabola
    unit = jnp.exp(1j * phi)
    zdot = jax.lax.stop_gradient(_zdot(z_l, unit[:, None], rho, zs, eps))
    run = jnp.abs(zdot) * h

    n_cells = centres.shape[0]

    def neighbour(shift):
        """Distance to, and position of, the nearest image of the neighbouring limb sample."""
        z_fixed = jax.lax.stop_gradient(z_l)  # sample spacings steer the boxes, carry no gradient
        other = jnp.roll(z_fixed, shift, axis=0)
        ok_other = jnp.roll(ok_l, shift, axis=0)
        d = jnp.where(ok_other[:, None, :], jnp.abs(z_fixed[:, :, None] - other[:, None, :]), jnp.inf)
        j = jnp.argmin(d, axis=2)
        return jnp.min(d, axis=2), jnp.take_along_axis(jnp.roll(z_l, shift, axis=0), j, axis=1)

    (d_prev, z_prev), (d_next, z_next) = neighbour(1), neighbour(-1)

    # A sample belongs to its own cell's box and to the box of any cell whose bisector
    # is within ~2 gaps to its farther neighbour sample (capped at 8 spacings): the
    # boundary between the last samples and the Voronoi cut is then inside the boxes
    # on both sides of the cut, also where the boundary is sampled sparsely.
    far0 = jnp.maximum(d_prev, d_next)
    near0 = jnp.minimum(d_prev, d_next)
    near0 = jnp.where(jnp.isfinite(near0), near0, 0.0)
    far0 = jnp.minimum(jnp.where(jnp.isfinite(far0), far0, near0), 8 * near0)
    # the band is a width in the image plane, not a count of samples: with more limb
    # samples than ``BAND_SAMPLES`` it keeps the width it has at that many (a narrower
    # band let fewer of the neighbouring cell's samples bound a box, and finer sampling
    # lost area: planetary rho = 1e-2 points 4e-3 off at 512 samples). The lonely test
    # and the tips' reach below take the same scaled gap: so measured; scaling the band
    # alone left "high" 1.7e-4 off at a central rho = 1e-2 point (benchmarks/RESULTS.md)
    far0 = far0 * max(1.0, z_l.shape[0] / BAND_SAMPLES)
    dist = jnp.abs(z_l[None] - centres[:, None, None])  # (K, L, M)
    near_cut = dist <= jnp.min(dist, axis=0)[None] + 2 * far0[None]
    # ... but only next to the cell's own samples (their bounding circle widened by
    # ~3 gaps): a long arc passing a small image's cell far away must not stretch
    # that image's box (it would starve the small image of theta lines)
    zf = jax.lax.stop_gradient(z_l)
    own = ok_l[None] & (dist == jnp.min(dist, axis=0)[None])
    n_own = jnp.maximum(jnp.sum(own, axis=(1, 2)), 1)
    centre = jnp.sum(jnp.where(own, zf[None], 0.0), axis=(1, 2)) / n_own
    radius = jnp.max(jnp.where(own, jnp.abs(zf[None] - centre[:, None, None]), 0.0), axis=(1, 2))
    beside = jnp.abs(zf[None] - centre[:, None, None]) <= radius[:, None, None] + jnp.minimum(3 * far0[None], radius[:, None, None])
    cells = own | (ok_l[None] & near_cut & beside)

    spacing = jnp.minimum(d_prev, d_next)
    spacing = jnp.where(jnp.isfinite(spacing), spacing, run)
    fast = ok_l & (run > 2 * spacing)  # near a tip: the parametrisation runs away
    # an image with no counterpart at the neighbouring limb sample, whose image count differs:
    # a pair of images merges (or is born) on the critical curve in the gap between the two
    # samples, and the tip where it does may lie several spacings beyond the last sample
    n_img = jnp.sum(ok_l, axis=1)
    count_changes = (n_img != jnp.roll(n_img, 1)) | (n_img != jnp.roll(n_img, -1))
    lonely = ok_l & count_changes[:, None] & (far0 > 3 * near0)
    reach = jnp.where(lonely, far0, spacing)
    half_step = jnp.exp(0.5j * h)
    w_plus = wl + rho * unit[:, None] * half_step
    w_minus = wl + rho * unit[:, None] / half_step
    z_plus = _track(z_l + 0.5 * h * zdot, w_plus, zs, eps)
    z_minus = _track(z_l - 0.5 * h * zdot, w_minus, zs, eps)
    tol = 1e-9 * rho

    def tracked(zz, target):
        good = jnp.abs(lens_equation(zz, zs, eps) - target) < tol
        return good & (jnp.abs(zz - z_l) < 1.5 * spacing)

    ok3 = ok_l & ~fast & tracked(z_plus, w_plus) & tracked(z_minus, w_minus)
    # tips: 2-D Newton from the fastest-running and the lonely samples only (a static handful)
    score = jnp.maximum(jnp.where(fast, run / jnp.maximum(spacing, 1e-300), -1.0),
                        jnp.where(lonely, far0 / jnp.maximum(near0, 1e-300), -1.0)).reshape(-1)
    _, pick = top_k_small(score, min(N_TIPS, score.shape[0]))
    z_pick, sp_pick = z_l.reshape(-1)[pick], reach.reshape(-1)[pick]
    # Newton's steps are capped near the sample's spacing (longer ones can leave for a far root)
    cap = jnp.where(lonely, 0.25, 0.5) * spacing
    tip, tip_res = _tips(z_pick, cap.reshape(-1)[pick], wl, rho, zs, eps)
    tip_ok = (score[pick] > 0) & (tip_res < 1e-8) & (jnp.abs(tip - z_pick) < 3 * sp_pick)
    found = jnp.zeros(score.shape, bool).at[pick].set(tip_ok)
    # a fast or lonely point whose tip was not found keeps a wide margin instead
    # (along the boundary's direction, where the tip lies) and everyone a small isotropic one
    tangent = zdot / jnp.maximum(jnp.abs(zdot), 1e-300)
    along = jnp.where((fast | lonely) & ~found.reshape(fast.shape), 1.5 * reach, 0.0) * tangent
    # how far each sample vouches for the boundary: the gap to the farther neighbour
    # sample (a boundary sampled sparsely, e.g. across a critical curve, gets wide reach)
    far = jnp.maximum(d_prev, d_next)
    far = jnp.minimum(jnp.where(jnp.isfinite(far), far, spacing), 8 * spacing)
    # a sample whose half-step tracking failed (not fast: the boundary speeds up or bends
    # sharply within half a step, e.g. passing close to a critical curve without a pair
    # merging) has no parabola, and the boundary between it and its neighbours may bulge
    # past both: a margin of a fraction of the gap to the farther neighbour (a triple lens
    # at rho = 1e-2: the cap of a thin image, 1.5e-3 of A, was outside its box)
    untracked = ok_l & ~ok3 & ~fast & ~lonely
    iso = ISO * spacing + UNTRACKED * jnp.where(untracked, far, 0.0)
    points = jnp.concatenate([z_l.reshape(-1), tip])
    ok = jnp.concatenate([ok_l.reshape(-1), tip_ok])
    along = jnp.concatenate([along.reshape(-1), jnp.zeros_like(tip)])
    iso = jnp.concatenate([iso.reshape(-1), jnp.zeros_like(tip_res)])
    stop = jax.lax.stop_gradient
    # a lonely sample whose tip was found: the boundary beyond it runs to the tip, and the tip
    # vouches for the boundary back to the sample it was found from
    tip_gap = jnp.abs(jax.lax.stop_gradient(tip - z_pick))
    to_tip = jnp.full(score.shape, jnp.inf).at[pick].min(jnp.where(tip_ok, tip_gap, jnp.inf)).reshape(far.shape)
    far = jnp.where(lonely & jnp.isfinite(to_tip), jnp.minimum(far, jnp.maximum(to_tip, spacing)), far)
    far = jnp.concatenate([far.reshape(-1), tip_gap])
    tip_cell = jnp.argmin(jnp.abs(tip[:, None] - centres[None, :]), axis=1)
    # ... and belongs to its own cell's box and to those of the sample it was found from
    # (the boundary between the two may cross a bisector)
    cells = cells.reshape(n_cells, -1)
    tip_member = tip_ok[None, :] & ((tip_cell[None, :] == jnp.arange(n_cells)[:, None]) | cells[:, pick])
    cells = cells.at[tip_cell, pick].max(tip_ok)  # and the sample joins the tip's cell's box
    cells = jnp.concatenate([cells, tip_member], axis=1)
    guides = tuple(stop(a) for a in (points, ok, far, along, iso))
    n_l = z_l.size
    # the boundary as a chain: each sample with its neighbours along it (not across a gap)
    linked = ok_l & jnp.isfinite(d_prev) & jnp.isfinite(d_next) & ~lonely
    chain = (z_prev.reshape(-1), z_next.reshape(-1), linked.reshape(-1))
    # positions stay differentiable (region limits co-move with the images: a limit at
    # a tangent point must move with it for the derivative of the theta rule to be
    # right); the discrete choices (membership, margins) do not carry gradients
    return ((points, stop(cells), (stop(along), stop(iso))),
            tuple(a.reshape(-1) for a in (z_minus, z_l, z_plus)) + (stop(cells[:, :n_l] & ok3.reshape(1, -1)),),
            guides + (stop(cells),), chain)
