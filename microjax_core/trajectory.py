"""Rectilinear source trajectories (DESIGN.md §3).

``tau = (t - t0)/tE`` and the source centre in the lens frame is

    w = (tau cos(alpha) - u0 sin(alpha)) + i (u0 cos(alpha) + tau sin(alpha)),

with ``alpha`` counter-clockwise from the +x axis (lens 1 -> lens 2) to the
source velocity and ``t0, u0`` measured from the origin (the 1-2 barycentre).
VBMicrolensing's ``alpha`` equals ours minus pi (tested against its
``BinaryLightCurve`` and ``TripleLightCurve``). MulensModel changed its ``alpha`` by
180 degrees between versions 1 and 2 (its tutorial event OGLE-2003-BLG-235 has
``alpha`` = 43.8 deg in v1 and 223.8 deg from v2 on); not verified here: convert
by matching one light curve.
"""
from __future__ import annotations

import jax.numpy as jnp

__all__ = ["source_trajectory"]


def source_trajectory(t, t0, tE, u0, alpha):
    """Complex source position(s) at time(s) ``t`` (days) for a rectilinear trajectory."""
    tau = (jnp.asarray(t) - t0) / tE
    c, s = jnp.cos(alpha), jnp.sin(alpha)
    return (tau * c - u0 * s) + 1j * (u0 * c + tau * s)
