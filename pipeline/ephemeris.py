"""Space-observer ephemerides: the geocentric position of a telescope in space (BJD, AU, equatorial J2000).

Two file formats are read:

- a plain table ``BJD x y z`` (AU, geocentric equatorial; ``#`` comments), as written by
  ``write_ephemeris`` (and by ``microjax-survey`` for Roman);
- a JPL Horizons observer table (the rows between ``$$SOE`` and ``$$EOE``: JD, RA and Dec
  in degrees, distance from the Earth in AU, then anything), as VBMicrolensing takes it.

``sun_earth_l2`` (and ``roman_ephemeris`` over given times) gives a model ephemeris for Roman (near the Sun-Earth L2 point, 0.0100 AU
from the Earth on the anti-Sun line; the halo orbit's few 1e5 km are left out).
A dataset observed from space carries its ephemeris (``Dataset.observer``); the fit's
parallax offsets then use it (``microjax_core.parallax_offsets(observer=...)``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

L2_DISTANCE_AU = 1.5e9 / 1.495978707e11  # 1.5 million km


class EphemerisError(ValueError):
    """A bad ephemeris file: the message names the file, the line and the problem."""


@dataclass(frozen=True)
class Ephemeris:
    """``t`` (BJD, increasing) and ``xyz`` (shape ``(n, 3)``, AU) of one observer; ``name`` for messages."""

    name: str
    t: np.ndarray
    xyz: np.ndarray

    def covers(self, t) -> bool:
        t = np.asarray(t, float)
        return bool(t.size == 0 or (t.min() >= self.t[0] and t.max() <= self.t[-1]))

    def check_covers(self, t, what: str) -> None:
        """Raise ``ValueError`` naming ``what`` if times ``t`` fall outside the table."""
        if not self.covers(t):
            t = np.asarray(t, float)
            raise ValueError(f"{what}: times {t.min():.3f}-{t.max():.3f} fall outside the ephemeris "
                             f"{self.name} ({self.t[0]:.3f}-{self.t[-1]:.3f})")


def _fail(path, line, problem):
    raise EphemerisError(f"{path}" + (f", line {line}" if line else "") + f": {problem}")


def _numbers(path, lineno, fields, n):
    if len(fields) < n:
        _fail(path, lineno, f"expected {n} numbers, found {len(fields)}")
    out = []
    for f in fields[:n]:
        try:
            out.append(float(f))
        except ValueError:
            _fail(path, lineno, f"{f!r} is not a number")
    if not np.all(np.isfinite(out)):
        _fail(path, lineno, "not finite")
    return out


def read_ephemeris(path) -> Ephemeris:
    """Read a plain ``BJD x y z`` table or a JPL Horizons ``$$SOE``/``$$EOE`` table (JD RA Dec delta)."""
    path = Path(path)
    if not path.is_file():
        raise EphemerisError(f"{path}: no such file")
    lines = path.read_text(errors="replace").splitlines()
    horizons = any(line.startswith("$$SOE") for line in lines)
    rows, inside = [], not horizons
    for lineno, line in enumerate(lines, 1):
        if horizons and line.startswith("$$SOE"):
            inside = True
            continue
        if horizons and line.startswith("$$EOE"):
            break
        text = line.split("#", 1)[0].strip()
        if inside and text:
            rows.append((lineno, _numbers(path, lineno, text.split(), 4)))
    if len(rows) < 2:
        _fail(path, None, f"{len(rows)} ephemeris rows; at least 2 are needed")
    a = np.array([r for _, r in rows])
    bad = np.flatnonzero(np.diff(a[:, 0]) <= 0)
    if bad.size:
        _fail(path, rows[bad[0] + 1][0], "times must increase")
    if horizons:  # RA, Dec (deg), distance (AU) -> geocentric equatorial x, y, z
        ra, dec, dist = np.radians(a[:, 1]), np.radians(a[:, 2]), a[:, 3]
        xyz = np.stack([dist * np.cos(dec) * np.cos(ra), dist * np.cos(dec) * np.sin(ra), dist * np.sin(dec)], 1)
    else:
        xyz = a[:, 1:4]
    far = np.flatnonzero(np.linalg.norm(xyz, axis=1) > 10.0)
    if far.size:
        _fail(path, rows[far[0]][0], "observer more than 10 AU from the Earth: positions must be geocentric, in AU")
    return Ephemeris(path.name, a[:, 0], xyz)


def write_ephemeris(eph: Ephemeris, path) -> Path:
    """Write ``eph`` as a plain ``BJD x y z`` table."""
    path = Path(path)
    body = "".join(f"{t:.6f} {x:.10f} {y:.10f} {z:.10f}\n" for t, (x, y, z) in zip(eph.t, eph.xyz))
    path.write_text(f"# {eph.name}: geocentric equatorial position, AU\n# BJD x y z\n" + body)
    return path


def sun_earth_l2(t_start: float, t_end: float, *, n: int = 1024) -> Ephemeris:
    """A model ephemeris of an observer at the Sun-Earth L2 point (Roman's orbit without its halo),
    ``n`` rows from ``t_start`` to ``t_end`` (a fixed ``n``: the Sun's position compiles once for every
    span; linear interpolation over even 2 d steps is good to 1e-6 AU)."""
    import jax.numpy as jnp

    import microjax_core as mc

    t = np.linspace(t_start, t_end, n)
    sun = np.asarray(mc.sun_position(jnp.asarray(t)))
    xyz = -L2_DISTANCE_AU * sun / np.linalg.norm(sun, axis=1, keepdims=True)
    return Ephemeris("Sun-Earth L2", t, xyz)


def roman_ephemeris(bjd) -> Ephemeris:
    """Roman's position (the ``sun_earth_l2`` model) over the times ``bjd``, a day beyond each end."""
    t = np.asarray(bjd, float)
    return sun_earth_l2(np.floor(t.min()) - 1.0, np.ceil(t.max()) + 1.0)
