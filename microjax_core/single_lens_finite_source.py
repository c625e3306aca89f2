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
come from the same quadrature, with no surrogate. Node counts are static.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ._dtype import require_float64
from .limb_darkening import as_profile

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


@partial(jax.jit, static_argnames=("n_lines", "n_chord"))
def _fspl_flat(u, rho, profile, n_lines, n_chord):
    return jax.vmap(lambda ui: _fspl_one(ui, rho, profile, n_lines, n_chord))(u)


def single_lens_finite_source_magnification(w, rho, limb_darkening=None, *, n_lines: int = 32,
                                            n_chord: int = 16):
    """FSPL magnification at source positions ``w`` (complex, any shape) for source radius ``rho``.

    ``limb_darkening``: ``None``/``UniformSource()``, ``LinearLD``, ``QuadraticLD`` or
    ``SquareRootLD`` (coefficients traced). ``n_lines`` (lines through the lens) and
    ``n_chord`` (nodes per chord, limb-darkened sources only) are static. The defaults
    give relative errors ~1e-15 except within ~1e-5 rho of u = rho (the lens on the
    limb, where the line density has a boundary layer): there at most ~1e-6
    (64/24 nodes: 2e-7).
    """
    w = jnp.asarray(w)
    profile = as_profile(limb_darkening)
    require_float64("single_lens_finite_source_magnification", w, rho, *jax.tree_util.tree_leaves(profile))
    if not isinstance(rho, jax.core.Tracer) and not np.all(np.asarray(rho) > 0):
        raise ValueError(f"rho must be > 0 for a finite source, got {rho!r} (use rho=0 for a point source)")
    u = jnp.abs(w.astype(jnp.result_type(w, 1j)))
    return _fspl_flat(u.reshape(-1), jnp.asarray(rho), profile, int(n_lines), int(n_chord)).reshape(w.shape)
