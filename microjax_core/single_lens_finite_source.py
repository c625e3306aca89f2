"""Finite-source single-lens (FSPL) magnification by one-dimensional line quadrature.

For one point lens the image plane adds nothing the source plane does not have: the
magnification of a finite source is the brightness-weighted mean of the point-source
magnification over the disc (Witt & Mao 1994; Gould 1994),

    A = ∫ I(x) A_ps(|x|) d²x .

In polar coordinates about the lens, with signed radius ``y`` along lines at angle
``theta`` (``|y| dy dtheta`` covers the plane once for ``theta`` in (-pi/2, pi/2]),
``A_ps(|y|)·|y| = (y**2 + 2)/sqrt(y**2 + 4)`` is smooth (no singularity at the lens),
and each line cuts the disc in a chord ``y = u cos(theta) + L t``, ``t`` in [-1, 1],
``L = sqrt(rho**2 - u**2 sin(theta)**2)``, on which ``mu = (L/rho) sqrt(1 - t**2)``.

* Uniform source: the chord integral is exact, ``[y sqrt(y**2 + 4)/2]`` between its ends.
* Limb darkening: Gauss–Legendre in ``t = sin(phi)``, which makes ``sqrt(1 - t**2)`` smooth.
* Lines: ``sin(theta) = s sin(phi)``, ``s = min(rho/u, 1)``, Gauss–Legendre in ``phi``:
  the chord length's square-root zeros at the tangent lines (``u > rho``) become smooth,
  and ``s = 1`` (source over the lens) reduces to a plain periodic rule in ``theta``.

Everything is a smooth function of ``(u, rho, LD coefficients)``: values and gradients
come from the same quadrature, with no surrogate. Node counts are static. Beyond ``u = 10 rho``
the hexadecapole expansion (Gould 2008) replaces the quadrature, which then runs on the few
points near the lens only.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ._dtype import require_float64
from .limb_darkening import as_profile
from .multipole import profile_moments

__all__ = ["single_lens_finite_source_magnification"]


def _gauss_legendre(n):
    x, wts = np.polynomial.legendre.leggauss(n)
    return x, wts


def _chord_integral_uniform(y1, y2):
    g = lambda y: 0.5 * y * jnp.sqrt(y * y + 4)  # noqa: E731  antiderivative of (y^2+2)/sqrt(y^2+4)
    return g(y2) - g(y1)


def _fspl_one(u, rho, profile, n_lines, n_chord):
    x, wx = _gauss_legendre(n_lines)
    phi = 0.5 * np.pi * x  # phi in (-pi/2, pi/2)
    w_phi = 0.5 * np.pi * wx
    safe_u = jnp.where(u > 0, u, 1.0)
    s = jnp.where(u > rho, rho / safe_u, 1.0)
    sin_theta = s * jnp.sin(phi)
    cos_theta = jnp.sqrt(1 - sin_theta**2)
    dtheta = s * jnp.cos(phi) / cos_theta  # d theta / d phi
    half = jnp.sqrt(jnp.maximum(rho**2 - (u * sin_theta) ** 2, 0.0))  # L
    centre = u * cos_theta
    if profile.is_uniform:
        line = _chord_integral_uniform(centre - half, centre + half) / (np.pi * rho**2)
    else:
        t_nodes, t_w = _gauss_legendre(n_chord)
        psi = 0.5 * np.pi * t_nodes  # t = sin(psi)
        t = np.sin(psi)
        dt = 0.5 * np.pi * t_w * np.cos(psi)
        y = centre[:, None] + half[:, None] * t[None, :]
        mu = (half[:, None] / rho) * np.cos(psi)[None, :]
        weight = (y * y + 2) / jnp.sqrt(y * y + 4)
        line = jnp.sum(profile.brightness(mu) * weight * dt[None, :], axis=1) * half / (np.pi * rho**2)
    return jnp.sum(line * dtheta * w_phi)


NEAR = 10.0  # u / rho below which the quadrature is used; beyond it the hexadecapole (relative error < 3e-8)


def _d(f):
    """Elementwise derivative of an elementwise function of ``u``."""
    return lambda u: jax.jvp(f, (u,), (jnp.ones_like(u),))[1]


def _radial_laplacian(f):
    """``Δf = f'' + f'/u`` of a radial function on the plane."""
    df = _d(f)
    return lambda u: _d(df)(u) + df(u) / u


def _paczynski(u):
    return (u * u + 2) / (u * jnp.sqrt(u * u + 4))


def _hexadecapole(u, rho, profile):
    """Disc mean of ``A_ps`` to order ``rho**4``: ``A + <r^2>/4 ΔA + <r^4>/64 Δ²A`` (the Taylor series of the
    mean of a function over a disc, as in Gould 2008's hexadecapole approximation). The next term
    is ``<r^6>/2304 Δ³A``: for ``u = NEAR rho`` at most 0.0244 (rho/u)^6 ~ 2.4e-8 of A (uniform source)."""
    r2, r4 = profile_moments(rho, profile)
    lap = _radial_laplacian(_paczynski)
    return _paczynski(u) + r2 / 4 * lap(u) + r4 / 64 * _radial_laplacian(lap)(u)


def _fspl_value(u, rho, leaves, treedef, n_lines, n_chord, n_near):
    """The magnification of every point: the quadrature on the near ones, the hexadecapole elsewhere."""
    profile = jax.tree_util.tree_unflatten(treedef, leaves)
    quadrature = jax.vmap(lambda ui: _fspl_one(ui, rho, profile, n_lines, n_chord))
    if n_near >= u.size:
        return quadrature(u)
    near = u < NEAR * rho
    far = _hexadecapole(jnp.where(near, 2 * NEAR * rho, u), rho, profile)  # finite everywhere (no NaN gradients)

    def compact(size):  # the quadrature on the (at most size) near points only; unused slots point past the end
        def run(_):
            idx = jnp.nonzero(near, size=size, fill_value=u.size)[0]
            a = quadrature(u.at[idx].get(mode="fill", fill_value=1.0))
            return far.at[idx].set(a, mode="drop")
        return run

    sizes = [k for k in (n_near, 4 * n_near) if k < u.size]
    branches = [compact(k) for k in sizes] + [lambda _: jnp.where(near, quadrature(u), far)]
    return jax.lax.switch(jnp.sum(jnp.sum(near) > jnp.asarray(sizes)), branches, None)


@partial(jax.custom_jvp, nondiff_argnums=(3, 4, 5, 6))
def _fspl_core(u, rho, leaves, treedef, n_lines, n_chord, n_near):
    return _fspl_value(u, rho, leaves, treedef, n_lines, n_chord, n_near)


@_fspl_core.defjvp
def _fspl_core_jvp(treedef, n_lines, n_chord, n_near, primals, tangents):
    """Each ``A_i`` depends on ``u_i``, ``rho`` and the LD coefficients only: its partial derivatives are forward-mode
    derivatives along ``u`` (all ones), ``rho`` and each coefficient (one ``vmap``-ed ``jvp``), and the tangent
    is their combination. The ``lax.switch`` between the compact and the full quadrature is then never linearised:
    reverse mode through a ``cond`` pays for every branch (8,330 points, rho = 1e-3: 50 ms vs 4 ms)."""
    u, rho, leaves = primals
    du, drho, dleaves = tangents
    leaves = list(leaves)
    m = 2 + len(leaves)  # directions: u (all ones), rho, each coefficient
    basis = jnp.eye(m, dtype=u.dtype)
    t_u = basis[:, :1] * jnp.ones_like(u)[None, :]
    value = lambda x, r, ls: _fspl_value(x, r, ls, treedef, n_lines, n_chord, n_near)  # noqa: E731
    # the primal does not depend on the tangent: out_axes=None keeps one (unbatched) evaluation of it
    a, d = jax.vmap(lambda tu, tr, tl: jax.jvp(value, (u, rho, leaves), (tu, tr, list(tl))), out_axes=(None, 0))(
        t_u, basis[:, 1], [basis[:, 2 + k] for k in range(len(leaves))])
    out = d[0] * du + d[1] * drho
    for k in range(len(leaves)):
        out = out + d[2 + k] * dleaves[k]
    return a, out


@partial(jax.jit, static_argnames=("n_lines", "n_chord", "n_near"))
def _fspl_flat(u, rho, profile, n_lines, n_chord, n_near):
    leaves, treedef = jax.tree_util.tree_flatten(profile)
    if n_near >= u.size:  # the quadrature everywhere, no switch: plain autodiff
        return _fspl_value(u, rho, list(leaves), treedef, n_lines, n_chord, n_near)
    return _fspl_core(u, rho, list(leaves), treedef, n_lines, n_chord, n_near)


def single_lens_finite_source_magnification(w, rho, limb_darkening=None, *, n_lines: int = 32,
                                            n_chord: int = 16, n_near: int | None = None):
    """FSPL magnification at source positions ``w`` (complex, any shape) for source radius ``rho``.

    ``limb_darkening``: ``None``/``UniformSource()``, ``LinearLD``, ``QuadraticLD`` or
    ``SquareRootLD`` (coefficients traced). ``n_lines`` (lines through the lens) and
    ``n_chord`` (nodes per chord, limb-darkened sources only) are static. The defaults
    give relative errors ~1e-15 except within ~1e-5 rho of u = rho (the lens on the
    limb, where the line density has a boundary layer): there at most ~1e-6
    (64/24 nodes: 2e-7). Points with ``u > 10 rho`` take the hexadecapole (< 3e-8). The
    quadrature runs on at most ``n_near`` points (static; default ``max(1024, n // 8)``
    of ``n`` points) when no more are within ``10 rho``, else on ``4 n_near``, else on all
    (``lax.switch``; under a ``vmap`` every branch runs).
    """
    w = jnp.asarray(w)
    profile = as_profile(limb_darkening)
    require_float64("single_lens_finite_source_magnification", w, rho, *jax.tree_util.tree_leaves(profile))
    if not isinstance(rho, jax.core.Tracer) and not np.all(np.asarray(rho) > 0):
        raise ValueError(f"rho must be > 0 for a finite source, got {rho!r} (use rho=0 for a point source)")
    u = jnp.abs(w.astype(jnp.result_type(w, 1j))).reshape(-1)
    n_near = max(1024, u.size // 8) if n_near is None else int(n_near)
    return _fspl_flat(u, jnp.asarray(rho), profile, int(n_lines), int(n_chord), n_near).reshape(w.shape)
