"""Rectilinear source trajectories (DESIGN.md §3).

``tau = (t - t0)/tE`` and the source centre in the lens frame is

    w = (tau cos(alpha) - u0 sin(alpha)) + i (u0 cos(alpha) + tau sin(alpha)),

with ``alpha`` counter-clockwise from the +x axis (lens 1 -> lens 2) to the
source velocity and ``t0, u0`` measured from the origin (the 1-2 barycentre).
VBMicrolensing's ``alpha`` equals ours minus pi. MulensModel measures ``alpha``
from the source velocity to the binary axis, clockwise, with the opposite sign
of ``u0``'s side: ``alpha_ours = alpha_MulensModel + pi`` for its default
(non-"2018") convention; check signs on one event when converting.
"""
from __future__ import annotations

import jax.numpy as jnp

__all__ = ["source_trajectory"]


def source_trajectory(t, t0, tE, u0, alpha):
    """Complex source position(s) at time(s) ``t`` (days) for a rectilinear trajectory."""
    tau = (jnp.asarray(t) - t0) / tE
    c, s = jnp.cos(alpha), jnp.sin(alpha)
    return (tau * c - u0 * s) + 1j * (u0 * c + tau * s)
