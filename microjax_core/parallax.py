"""Annual parallax: the source trajectory seen from the orbiting Earth (Gould 2004, ApJ 606, 319).

The Sun's geocentric position ``S(t)`` (AU, equatorial) is projected on the sky at the
event's coordinates onto north and east: ``(s_N, s_E)``. Its departure from uniform
motion at the reference time ``t0_par``,

    (dN, dE) = s(t) - s(t0_par) - (t - t0_par) s'(t0_par),

shifts the trajectory's coordinates along and across the lens-source motion:

    delta_tau  = piEN dN + piEE dE,        delta_beta = piEN dE - piEE dN,

so ``w`` is ``source_trajectory`` with ``tau -> tau + delta_tau``, ``u0 -> u0 + delta_beta``.
The signs are VBMicrolensing's (``parallaxsystem = 1``, north-east, ``t0_par_fixed``),
checked against its ``PSPLLightCurveParallax`` and ``BinaryLightCurveParallax`` in the
tests. The offsets depend only on the times, the coordinates and ``t0_par``: compute
them once per data set (``parallax_offsets``) and the model stays as cheap as without.

Sun: the Astronomical Almanac's low-precision formulae (mean anomaly, equation of the
centre to 2M, distance to 2M; about 0.01 deg, 1e-4 AU). Measured against VBMicrolensing:
1e-4 (A_max = 11) to 5e-4 (A_max = 20) relative in magnification with ``t0_par = t0``,
1e-3 with ``t0_par`` 25 d from ``t0``; a full ephemeris would close that gap.

A space observer (Spitzer, Kepler, Roman near the Sun-Earth L2 point) at geocentric
position ``P(t)`` sees the Sun at ``S - P``: its offsets are the Earth's minus the
projection of ``P`` (not linearised: the frame stays the geocentric one of ``t0_par``),
as in satellite parallax (Refsdal 1966; Gould 1994, ApJ 421, L75). ``P`` comes from an
ephemeris table, interpolated linearly (as VBMicrolensing does with its satellite tables,
against whose Spitzer light curves the tests check it).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["sun_position", "observer_position", "parallax_offsets", "trajectory_with_parallax"]

_DEG = jnp.pi / 180.0


def sun_position(jd):
    """Geocentric equatorial position of the Sun (AU) at Julian date(s) ``jd`` (BJD is fine)."""
    n = jnp.asarray(jd) - 2451545.0
    mean_lon = (280.460 + 0.9856474 * n) * _DEG
    g = (357.528 + 0.9856003 * n) * _DEG
    lam = mean_lon + (1.915 * jnp.sin(g) + 0.020 * jnp.sin(2 * g)) * _DEG
    r = 1.00014 - 0.01671 * jnp.cos(g) - 0.00014 * jnp.cos(2 * g)
    eps = (23.439 - 4e-7 * n) * _DEG
    return jnp.stack([r * jnp.cos(lam), r * jnp.cos(eps) * jnp.sin(lam), r * jnp.sin(eps) * jnp.sin(lam)], axis=-1)


def _sky_axes(ra_deg, dec_deg):
    """Unit vectors (equatorial) pointing north and east on the sky at (RA, Dec)."""
    a, d = ra_deg * _DEG, dec_deg * _DEG
    north = jnp.stack([-jnp.sin(d) * jnp.cos(a), -jnp.sin(d) * jnp.sin(a), jnp.cos(d)])
    east = jnp.stack([-jnp.sin(a), jnp.cos(a), 0.0 * a])
    return north, east


def _projected(jd, ra_deg, dec_deg):
    north, east = _sky_axes(ra_deg, dec_deg)
    s = sun_position(jd)
    return s @ north, s @ east


def observer_position(t, table_t, table_xyz):
    """Geocentric equatorial position (AU) of a space observer at BJD(s) ``t``, linearly
    interpolated in an ephemeris table (``table_t`` increasing, ``table_xyz`` shape ``(n, 3)``)."""
    t = jnp.asarray(t, dtype=jnp.result_type(float))
    return jnp.stack([jnp.interp(t, table_t, table_xyz[:, k]) for k in range(3)], axis=-1)


def parallax_offsets(t, ra_deg, dec_deg, t0_par, observer=None):
    """``(dN, dE)`` in AU at BJD(s) ``t`` for an event at (RA, Dec) in degrees.

    ``observer``: ``(table_t, table_xyz)``, the geocentric ephemeris of a space observer
    (BJD, AU, equatorial J2000); ``None`` for the geocentre.
    """
    t = jnp.asarray(t, dtype=jnp.result_type(float))
    (n0, e0), (dn, de) = jax.jvp(lambda x: _projected(x, ra_deg, dec_deg), (jnp.asarray(t0_par, t.dtype),),
                                 (jnp.ones((), t.dtype),))
    n, e = _projected(t, ra_deg, dec_deg)
    dt = t - t0_par
    d_n, d_e = n - n0 - dt * dn, e - e0 - dt * de
    if observer is not None:
        p = observer_position(t, *observer)
        north, east = _sky_axes(ra_deg, dec_deg)
        d_n, d_e = d_n - p @ north, d_e - p @ east
    return d_n, d_e


def trajectory_with_parallax(t, t0, tE, u0, alpha, piEN, piEE, offsets):
    """Source position(s) with annual parallax; ``offsets = parallax_offsets(t, ra, dec, t0_par)``."""
    d_n, d_e = offsets
    tau = (jnp.asarray(t) - t0) / tE + piEN * d_n + piEE * d_e
    beta = u0 + piEN * d_e - piEE * d_n
    c, s = jnp.cos(alpha), jnp.sin(alpha)
    return (tau * c - beta * s) + 1j * (beta * c + tau * s)
