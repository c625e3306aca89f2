"""ICRS regions: where the images of a finite source can be, as polar boxes (DESIGN.md §4.4 step 2),
and the line layout inside them (the theta rule, each line's r range).

For one source position, from the image-boundary samples of ``icrs_boundary``: every
root of the source centre's polynomial (true or false) is a centre and the image
plane is split into the centres' Voronoi cells. Each cell's boundary samples — the
limb images in it, plus samples within ~2 gaps of its bisectors next to its own
(so the boundary between the last sample and the cut is covered) — are boxed in
polar coordinates ``(r, theta)`` about the barycentre or one lens, whichever box is
smallest (arcs along the Einstein ring are thin in ``r`` about the barycentre, arcs
round a planet about the planet). Box limits are the extremes of parabolas through
each sample and its Newton-tracked neighbours half a step either side (error
~step**3), and of the exact tips where two images merge on the critical curve; the
limits are differentiable, so the integration grid co-moves with the images.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._select import top_k_small

N_TANGENTS = 4  # breakpoints of a region's theta rule where its boundary turns back in theta
N_EMPTY = 4  # empty sectors per region that the theta rule skips


def _cell_clip(pole, e, r_lo, r_hi, k, centres):
    """``(lo, hi, ok)``: the part of ``pole + r e``, ``r`` in [r_lo, r_hi], inside the Voronoi
    cell of centre ``k`` (an interval: the cell is convex, the line straight; ``|z - c_k|^2 <=
    |z - c_j|^2`` is linear in ``r``)."""
    a0 = jnp.abs(pole - centres[k]) ** 2 - jnp.abs(pole - centres) ** 2
    b = 2 * jnp.real((centres - centres[k]) * jnp.conj(e))
    other = jnp.arange(centres.shape[0]) != k
    safe_b = jnp.where(b == 0, 1.0, b)
    bound = -a0 / safe_b
    hi = jnp.minimum(r_hi, jnp.min(jnp.where(other & (b > 0), bound, jnp.inf)))
    lo = jnp.maximum(r_lo, jnp.max(jnp.where(other & (b < 0), bound, -jnp.inf)))
    blocked = jnp.any(other & (b == 0) & (a0 > 0))
    return lo, hi, (hi > lo) & ~blocked


def _theta_nodes(half, cuts, n, empty_sectors, in_cell):
    """Composite rule on ``[-half, half]`` with breakpoints ``cuts`` (relative angles).

    Each piece between breakpoints is mapped by ``theta = a + l (1 + sin(pi u/2))/2``,
    so the integrand's square-root edges (tangent points at the region's ends) and
    jumps (a Voronoi cut across an image) sit where ``dtheta/du`` vanishes. Pieces
    get nodes in proportion to their length (with a floor of about two each); pieces
    inside ``empty_sectors`` (``(lo, hi)`` pairs) get none, nor do pieces whose first,
    middle and last lines all miss the region's cell (``in_cell(theta) -> bool``: the
    cuts are where the cell's bisectors cross the box). ``n`` is static.
    Returns ``(theta, weight)``, each ``(n,)``.
    """
    cuts = jnp.concatenate([cuts, empty_sectors.reshape(-1)])
    inside = jnp.abs(cuts) < half
    edges = jnp.sort(jnp.concatenate([-half[None], jnp.where(inside, cuts, -half), half[None]]))
    length = jnp.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    skipped = jnp.any((mid[:, None] > empty_sectors[None, :, 0]) & (mid[:, None] < empty_sectors[None, :, 1]), axis=1)
    live = (length > 0) & ~skipped & (in_cell(edges[:-1]) | in_cell(mid) | in_cell(edges[1:]))
    n_live = jnp.sum(live)
    total = jnp.sum(jnp.where(live, length, 0.0))
    floor = 2.0 / jnp.maximum(n - 2.0 * n_live, 0.5 * n)  # ~2 nodes per live piece (of n)
    share = jnp.where(live, length + floor * total, 0.0)
    v_edges = jnp.concatenate([jnp.zeros(1), jnp.cumsum(share)])
    v_edges = v_edges / jnp.where(v_edges[-1] > 0, v_edges[-1], 1.0)
    v = (np.arange(n) + 0.5) / n
    piece = jnp.clip(jnp.searchsorted(v_edges, v, side="right") - 1, 0, length.shape[0] - 1)
    dv = v_edges[piece + 1] - v_edges[piece]
    u = 2 * (v - v_edges[piece]) / jnp.where(dv > 0, dv, 1.0) - 1
    ell = length[piece]
    theta = edges[piece] + 0.5 * ell * (1 + jnp.sin(0.5 * np.pi * u))
    weight = ell * 0.25 * np.pi * jnp.cos(0.5 * np.pi * u) * 2 / jnp.where(dv > 0, dv, 1.0) / n
    return theta, jnp.where(dv > 0, weight, 0.0)


def _voronoi_cuts(pole, radius, theta_mid, k, centres):
    """Angles (relative to ``theta_mid``) where the circle ``|z - pole| = radius`` meets
    the bisectors between centre ``k`` and every other centre (two per bisector)."""
    d = centres - centres[k]
    c = 0.5 * (jnp.abs(centres) ** 2 - jnp.abs(centres[k]) ** 2) - jnp.real(pole * jnp.conj(d))
    x = c / jnp.maximum(radius * jnp.abs(d), 1e-300)
    hit = (jnp.abs(x) < 1) & (jnp.arange(centres.shape[0]) != k)
    acos = jnp.arccos(jnp.clip(x, -1.0, 1.0))
    angles = jax.lax.stop_gradient(jnp.concatenate([jnp.angle(d) + acos, jnp.angle(d) - acos]))  # fixed cuts
    rel = _wrap(angles - theta_mid)
    return jnp.where(jnp.concatenate([hit, hit]), rel, 10.0)  # 10 rad: outside any region


def _wrap(a):
    """Angle folded into [-pi, pi) (to rounding: a floor, not the slower ``fmod``)."""
    return a - 2 * np.pi * jnp.floor((a + np.pi) * (0.5 / np.pi))


def _angle_order(angle):
    """``argsort(angle)`` for angles in [-pi, pi], ties (to ~1e-15 rad) by index.

    One int64 key per sample (quantised angle, then index): XLA's CPU sort of a single
    integer array is ~6x faster than the stable (value, index) sort of ``argsort``.
    """
    n = angle.shape[-1]
    bits = max(int(n - 1).bit_length(), 1)
    scale = 2.0 ** (62 - bits) / (2 * np.pi)
    key = jnp.floor((angle + np.pi) * scale).astype(jnp.int64) * (1 << bits) + jnp.arange(n)
    return jnp.sort(key, axis=-1) & ((1 << bits) - 1)


def _parabola_extremes(v_minus, v0, v_plus):
    """Max and min of the parabola through (-1, v_minus), (0, v0), (1, v_plus) on [-1, 1]."""
    a = 0.5 * (v_plus - 2 * v0 + v_minus)
    b = 0.5 * (v_plus - v_minus)
    safe = jnp.where(a == 0, 1.0, a)
    t = -b / (2 * safe)
    vertex = v0 - b**2 / (4 * safe)
    inside = (a != 0) & (jnp.abs(t) <= 1)
    hi = jnp.maximum(jnp.maximum(v_minus, v_plus), jnp.where(inside & (a < 0), vertex, -jnp.inf))
    lo = jnp.minimum(jnp.minimum(v_minus, v_plus), jnp.where(inside & (a > 0), vertex, jnp.inf))
    return lo, hi


def _next_member(member):
    """For sorted samples: each one's index if a member (else ``n``), and the index of the
    next member after it (``n`` where none)."""
    n = member.shape[0]
    at = jnp.where(member, jnp.arange(n), n)
    return at, jnp.concatenate([jax.lax.cummin(at, reverse=True)[1:], jnp.full((1,), n)])


def _opposite_largest_gap(t, member):
    """The direction opposite the middle of the widest empty sector between member angles.

    ``t``: all sample angles, sorted (shared by every region with this pole).
    """
    n_s = t.shape[0]
    i = jnp.arange(n_s)
    at, following = _next_member(member)
    gaps = jnp.where(member & (following < n_s), t[jnp.minimum(following, n_s - 1)] - t, -jnp.inf)
    j = jnp.argmax(gaps)
    first, last = t[jnp.min(at) % n_s], t[jnp.max(jnp.where(member, i, 0))]
    wrap_gap = first + 2 * np.pi - last
    use_wrap = wrap_gap >= gaps[j]
    centre = jnp.where(use_wrap, last + 0.5 * wrap_gap, t[j] + 0.5 * gaps[j])
    return jnp.where(jnp.any(member), centre + np.pi, 0.0)


def _regions(samples, triplets, guides, centres, poles, chain):
    """Polar boxes: for each centre ``k``, ``(pole, r_lo, r_hi, theta_mid, half_width, full, empty)``,
    the guides of ``_line_limits`` and the interior tangents (``_interior_tangents``)."""
    points, member, margin = samples
    z_m, z_0, z_p, member3 = triplets
    z_prev, z_next, linked = chain
    along, iso = margin

    def about(pole):
        """What does not depend on the region: polar coordinates about ``pole``, margins."""
        d = points - pole
        r = jnp.abs(d)
        unit = d / jnp.where(r > 0, r, 1.0)
        angle = jnp.angle(d)
        order = _angle_order(jax.lax.stop_gradient(angle))
        m_r = jnp.abs(jnp.real(along * jnp.conj(unit))) + iso
        dth_margin = (jnp.abs(jnp.imag(along * jnp.conj(unit))) + iso) / jnp.maximum(r, 1e-300)
        (rm, am), (r0, a0), (rp, ap) = ((jnp.abs(z - pole), jnp.angle(z - pole)) for z in (z_m, z_0, z_p))
        pr_lo, pr_hi = _parabola_extremes(rm, r0, rp)
        neighbours = (jnp.angle(z_prev - pole), jnp.angle(z_next - pole))
        return r, angle, order, m_r, dth_margin, am, a0, ap, pr_lo, pr_hi, neighbours

    per_pole = jax.vmap(about)(poles)  # once per pole, not once per region and pole

    def box(k_member, k_member3, r, angle, order, m_r, dth_margin, am, a0, ap, pr_lo, pr_hi, _):
        t_sorted = jax.lax.stop_gradient(angle)[order]
        theta_c = jax.lax.stop_gradient(_opposite_largest_gap(t_sorted, k_member[order]))
        dth = _wrap(angle - theta_c)
        big = jnp.inf
        r_lo = jnp.min(jnp.where(k_member, r - m_r, big))
        r_hi = jnp.max(jnp.where(k_member, r + m_r, -big))
        t_lo = jnp.min(jnp.where(k_member, dth - dth_margin, big))
        t_hi = jnp.max(jnp.where(k_member, dth + dth_margin, -big))
        tm, t0, tp = (_wrap(a - theta_c) for a in (am, a0, ap))
        # theta must not wrap within a triplet for the parabola to mean anything
        no_wrap = (jnp.abs(tm - t0) < 1.0) & (jnp.abs(tp - t0) < 1.0)
        use = k_member3 & no_wrap
        pt_lo, pt_hi = _parabola_extremes(tm, t0, tp)
        r_lo = jnp.minimum(r_lo, jnp.min(jnp.where(use, pr_lo, big)))
        r_hi = jnp.maximum(r_hi, jnp.max(jnp.where(use, pr_hi, -big)))
        t_lo = jnp.minimum(t_lo, jnp.min(jnp.where(use, pt_lo, big)))
        t_hi = jnp.maximum(t_hi, jnp.max(jnp.where(use, pt_hi, -big)))
        r_lo = jnp.maximum(r_lo, 0.0)
        full = (t_hi - t_lo >= 2 * np.pi) | (r_lo <= 0.0)
        half = jnp.where(full, np.pi, 0.5 * (t_hi - t_lo))
        theta_mid = theta_c + jnp.where(full, 0.0, 0.5 * (t_hi + t_lo))
        area = half * (r_hi**2 - r_lo**2)
        return r_lo, r_hi, theta_mid, half, full, area

    # a loop over regions, not a vmap: a loop's inputs are stored once, where XLA on a CPU
    # would fuse (so recompute) the memberships and polar coordinates into every reduction
    boxes = jax.lax.map(lambda mm: jax.vmap(lambda *pp: box(*mm, *pp))(*per_pole), (member, member3))  # (K, P)
    area = boxes[5]
    best = jnp.argmin(jnp.where(jnp.isfinite(area), area, jnp.inf), axis=1)
    pick = lambda a: jnp.take_along_axis(a, best[:, None], axis=1)[:, 0]  # noqa: E731
    r_lo, r_hi, theta_mid, half, full = (pick(b) for b in boxes[:5])
    empty = ~jnp.any(member, axis=1)
    r_lo = jnp.where(empty, 0.0, r_lo)
    r_hi = jnp.where(empty, 0.0, r_hi)
    half = jnp.where(empty, 0.0, half)
    theta_mid = jnp.where(empty, 0.0, theta_mid)
    pole = poles[best]
    n_l = z_0.shape[0]
    angle_0 = per_pole[1][:, :n_l]
    tangents = jax.vmap(_interior_tangents, in_axes=(0, 0, 0, 0, None, None))(
        best, theta_mid, half, member[:, :n_l] & linked[None], (per_pole[10][0], angle_0, per_pole[10][1]),
        (z_prev, z_0, z_next))
    # per-region guides in the chosen polar frame: (r, theta, angular window, r margin, member)
    g_z, g_ok, g_far, g_along, g_iso, g_member = guides

    def guide_polar(p):
        d = g_z - p
        r = jnp.abs(d)
        unit = d / jnp.where(r > 0, r, 1.0)
        m_r = jnp.abs(jnp.real(g_along * jnp.conj(unit))) + g_iso
        window = (1.5 * g_far + jnp.abs(g_along)) / jnp.maximum(r, 1e-300)
        return r, jnp.angle(d), window, m_r

    g_r, g_theta, g_window, g_mr = jax.vmap(guide_polar)(pole)
    sectors = jax.vmap(_empty_sectors)(per_pole[2][best], g_theta, g_window, g_member, theta_mid, half)
    return (pole, r_lo, r_hi, theta_mid, half, full, empty, (g_r, g_theta, g_window, g_mr, g_member), tangents,
            sectors)


def _empty_sectors(order, theta, window, member, theta_mid, half):
    """The ``N_EMPTY`` widest sectors of the box (``(lo, hi)`` relative to ``theta_mid``;
    ``(10, 10)`` where unused) that no boundary sample vouches for: between two members
    consecutive in angle, beyond both of their windows. No line there meets the region's
    images (the same windows bound the lines' ``r`` ranges, ``_line_limits``), so the
    ``theta`` rule puts none there (a box spanning pieces of a ring far apart, say)."""
    n = order.shape[0]
    a = jax.lax.stop_gradient(theta)[order]
    win = window[order]
    m = member[order]
    at, following = _next_member(m)
    nxt = jnp.minimum(following, n - 1)
    lo = _wrap(a + win - theta_mid)
    hi = _wrap(a[nxt] - win[nxt] - theta_mid)
    span = jnp.where(m & (following < n) & (win < np.pi) & (win[nxt] < np.pi) & (a[nxt] - a > win + win[nxt]),
                     hi - lo, -1.0)
    # the pair that wraps round (the last member in angle, then the first)
    i_first = jnp.min(at)
    i_last = jnp.max(jnp.where(m, jnp.arange(n), -1))
    i_first, i_last = jnp.minimum(i_first, n - 1), jnp.maximum(i_last, 0)
    wrap_lo = _wrap(a[i_last] + win[i_last] - theta_mid)
    wrap_hi = _wrap(a[i_first] - win[i_first] - theta_mid)
    wrap_ok = (jnp.sum(m) > 1) & (a[i_first] + 2 * np.pi - a[i_last] > win[i_first] + win[i_last])
    # and the box's ends beyond every member's window (the box also holds margins and tips)
    rel = _wrap(a - theta_mid)
    first = jnp.min(jnp.where(m, rel - win, jnp.inf))
    last = jnp.max(jnp.where(m, rel + win, -jnp.inf))
    lo = jnp.concatenate([lo, jnp.stack([wrap_lo, -half, last])])
    hi = jnp.concatenate([hi, jnp.stack([wrap_hi, first, half])])
    any_m = jnp.any(m & (win < np.pi))
    span = jnp.concatenate([span, jnp.where(jnp.stack([wrap_ok & (win[i_first] < np.pi) & (win[i_last] < np.pi),
                                                         any_m, any_m]), hi[-3:] - lo[-3:], -1.0)])
    top, pick = top_k_small(span, min(N_EMPTY, n + 3))
    use = (top > 0) & (lo[pick] < half) & (hi[pick] > -half)
    return jnp.where(use[:, None], jnp.stack([lo[pick], hi[pick]], axis=1), 10.0)


def _interior_tangents(best, theta_mid, half, member, angles, chain):
    """Angles (relative to ``theta_mid``) where the region's boundary turns back in ``theta``
    inside the box: there a line through the pole touches the image, and the line integral
    has a square-root edge that the ``theta`` rule needs as a breakpoint. Vertices of the
    parabola ``theta(s)`` (``s``: distance along the boundary) through each sample and its
    neighbours along the boundary, kept where the vertex lies within the sample's half-gaps;
    the ``N_TANGENTS`` farthest from the box's edges (already breakpoints); 10 rad where unused."""
    t_m, t_0, t_p = (_wrap(a[best] - theta_mid) for a in angles)
    z_m, z_0, z_p = chain
    s_m, s_p = -jnp.abs(z_0 - z_m), jnp.abs(z_p - z_0)
    ok = member & (s_m < 0) & (s_p > 0) & (jnp.abs(t_m - t_0) < 1.0) & (jnp.abs(t_p - t_0) < 1.0)
    s_m, s_p = jnp.where(ok, s_m, -1.0), jnp.where(ok, s_p, 1.0)
    slope_p, slope_m = (t_p - t_0) / s_p, (t_m - t_0) / s_m
    a = (slope_p - slope_m) / (s_p - s_m)
    b = slope_p - a * s_p
    safe = jnp.where(a == 0, 1.0, a)
    at = -b / (2 * safe)
    vertex = t_0 - b**2 / (4 * safe)
    ok = ok & (a != 0) & (at >= 0.5 * s_m) & (at < 0.5 * s_p) & (jnp.abs(vertex) < half)
    score = jnp.where(ok, half - jnp.abs(vertex), -1.0)
    top, pick = top_k_small(score, min(N_TANGENTS, score.shape[0]))
    return jnp.where(top > 1e-3 * half, vertex[pick], 10.0)


def _interval_min(x, a, b, v):
    """``out[l] = min(v[s] for every s with a[s] <= x[l] <= b[s])`` (``inf`` where none).

    ``x`` sorted. Each interval covers a run of ``x`` indices ``[i0, i1)``: its value is
    scattered into the two power-of-two blocks that cover the run (a sparse table, as
    for range-minimum queries) and pushed down level by level: ``O(S + T log T)`` work
    instead of the ``O(S T)`` of testing every sample against every line.
    """
    n_x = x.shape[0]
    levels = max(int(n_x).bit_length(), 1)
    i0 = jnp.searchsorted(x, a, side="left")
    i1 = jnp.searchsorted(x, b, side="right")
    count = i1 - i0
    k = sum((count >= 2**j).astype(jnp.int32) for j in range(1, levels))  # floor(log2(count))
    size = jnp.left_shift(1, k)
    drop = count <= 0
    lev = jnp.where(drop, levels, k)  # an out-of-range level: the update is dropped
    table = jnp.full((levels, n_x), jnp.inf, v.dtype)
    table = table.at[lev, i0].min(v, mode="drop").at[lev, i1 - size].min(v, mode="drop")
    for j in range(levels - 1, 0, -1):
        h = 2 ** (j - 1)
        shifted = jnp.concatenate([jnp.full((h,), jnp.inf, v.dtype), table[j, :-h]])
        table = table.at[j - 1].set(jnp.minimum(table[j - 1], jnp.minimum(table[j], shifted)))
    return table[0]


def _line_limits(rel, theta_mid, guide):
    """Per line of one region: the ``r`` range that boundary samples near its angle allow.

    A sample at angle ``theta_s`` with window ``win_s`` vouches for the lines within
    ``win_s`` of it (mod 2 pi). ``rel``: the region's line angles relative to
    ``theta_mid`` (sorted). Returns ``(near_lo, near_hi, any_near)`` per line.
    """
    g_r, g_theta, g_window, g_mr, g_member = guide
    g_rel = _wrap(g_theta - theta_mid)
    all_round = g_window >= np.pi
    a0 = jnp.where(all_round, -jnp.inf, g_rel - g_window)
    b0 = jnp.where(all_round, jnp.inf, g_rel + g_window)
    # the part of a window past -pi or pi, wrapped round (the lines' angles lie in [-pi, pi];
    # a window past both is ``all_round``)
    a1 = jnp.where(a0 < -np.pi, a0 + 2 * np.pi, -jnp.inf)
    b1 = jnp.where(a0 < -np.pi, jnp.inf, b0 - 2 * np.pi)
    wraps = ~all_round & ((a0 < -np.pi) | (b0 > np.pi))
    use = jnp.concatenate([g_member, g_member & wraps])
    a = jnp.where(use, jnp.concatenate([a0, a1]), jnp.inf)  # unused: an empty interval
    b = jnp.where(use, jnp.concatenate([b0, b1]), -jnp.inf)
    near_lo = _interval_min(rel, a, b, jnp.tile(g_r - g_mr, 2))
    near_hi = -_interval_min(rel, a, b, -jnp.tile(g_r + g_mr, 2))
    return near_lo, near_hi, jnp.isfinite(near_lo)
