"""Photometry files -> ``Dataset`` objects (one per file / band), with errors that name the file and line.

Readers:
- whitespace text: ``time value error [band]``, ``#`` comments; an optional header
  comment naming the columns (``# hjd mag err``) decides magnitude vs flux;
- IPAC tables as distributed by the NASA Exoplanet Archive for microlensing events:
  ``\\KEY = value`` keyword lines and ``|``-delimited header rows (names, types, units,
  nulls), then whitespace data rows.

Magnitudes are converted to flux with ``zero_point`` (27.615 = W149 counts/s; any
constant works because ``fs, fb`` are fitted per dataset). Times given with the
2450000 offset (HJD', e.g. 3580.2 or 9810.5) are detected and restored to full JD;
the note is kept in ``Dataset.time_note``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..ephemeris import Ephemeris, roman_ephemeris

__all__ = ["Dataset", "PhotometryError", "read_photometry", "read_text", "read_ipac", "datasets_from_survey",
           "MIN_POINTS"]

MIN_POINTS = 10
ZERO_POINT = 27.615

TIME_NAMES = ("bjd", "hjd", "jd", "time", "date", "t", "mjd", "bjd-2450000", "hjd-2450000", "jd-2450000",
              "hjd_2450000", "bjd_tdb")
MAG_NAMES = ("mag", "magnitude", "i_mag", "imag", "w149", "mag_w149", "m")
FLUX_NAMES = ("flux", "dflux", "delta_flux", "diff_flux", "difference_flux", "f")
ERR_NAMES = ("err", "error", "mag_err", "magerr", "e_mag", "sigma", "flux_err", "fluxerr", "dflux_err",
             "e_flux", "sig", "uncertainty", "emag", "eflux")
BAND_NAMES = ("band", "filter", "passband")


class PhotometryError(ValueError):
    """A photometry file that cannot be used; the message names the file, the line and the problem."""


@dataclass
class Dataset:
    """One dataset: times (full BJD/HJD), flux and flux error (any consistent unit), one band;
    ``observer``: the ``ephemeris.Ephemeris`` of a telescope in space (parallax seen from there)."""

    name: str
    band: str
    t: np.ndarray
    flux: np.ndarray
    flux_err: np.ndarray
    time_note: str = ""
    source: str = ""
    extra: dict = field(default_factory=dict)
    observer: Ephemeris | None = None  # a space telescope's ephemeris; None: on the Earth

    def __post_init__(self):
        self.t = np.asarray(self.t, float)
        self.flux = np.asarray(self.flux, float)
        self.flux_err = np.asarray(self.flux_err, float)
        order = np.argsort(self.t, kind="stable")
        self.t, self.flux, self.flux_err = self.t[order], self.flux[order], self.flux_err[order]

    def __len__(self):
        return self.t.size


def _fail(path, line, problem):
    where = f"{path}" + (f", line {line}" if line else "")
    raise PhotometryError(f"{where}: {problem}")


def _restore_time(t, path):
    med = float(np.median(t))
    if med > 2.0e6:
        return t, "full JD"
    if 1.0e3 < med < 2.0e4:
        return t + 2450000.0, "times given as JD-2450000: 2450000 added"
    if 4.0e4 < med < 1.0e5:
        return t + 2400000.5, "times look like MJD: 2400000.5 added"
    _fail(path, 0, f"cannot tell the time system from a median time of {med:.6g} (expected full JD ~2.45e6, "
                   "JD-2450000 ~ 1e3..2e4, or MJD ~ 5e4..6e4)")


def _finish(path, name, band, rows, kind, zero_point):
    """rows: list of (line_no, t, value, err); kind 'mag' or 'flux'."""
    if len(rows) < MIN_POINTS:
        _fail(path, 0, f"only {len(rows)} data rows; at least {MIN_POINTS} are needed")
    lines = np.array([r[0] for r in rows])
    t, v, e = (np.array([r[k] for r in rows], float) for k in (1, 2, 3))
    for arr, what in ((t, "time"), (v, kind), (e, "error")):
        bad = ~np.isfinite(arr)
        if bad.any():
            _fail(path, int(lines[bad][0]), f"{what} is not a finite number")
    if (e <= 0).any():
        k = int(np.argmax(e <= 0))
        _fail(path, int(lines[k]), f"error must be positive, got {e[k]!r}")
    t, note = _restore_time(t, path)
    if kind == "mag":
        flux = 10 ** (-0.4 * (v - zero_point))
        err = flux * e * np.log(10) / 2.5
    else:
        flux, err = v, e
    return Dataset(name=name, band=band, t=t, flux=flux, flux_err=err, time_note=note, source=str(path),
                   extra={"kind": kind, "absolute": kind == "mag"})


def _pick(names, candidates):
    for c in candidates:
        if c in names:
            return names.index(c)
    return None


def _columns(names, path, kind):
    names = [n.strip().lower() for n in names]
    it = _pick(names, TIME_NAMES)
    im, iflux = _pick(names, MAG_NAMES), _pick(names, FLUX_NAMES)
    ie = _pick(names, ERR_NAMES)
    if it is None or ie is None or (im is None and iflux is None):
        _fail(path, 0, f"columns {names} lack a time ({'/'.join(TIME_NAMES[:5])}), a magnitude or flux "
                       f"({'/'.join(MAG_NAMES[:2])} / {'/'.join(FLUX_NAMES[:3])}) or an error column")
    if kind == "auto":
        kind = "mag" if im is not None else "flux"
    iv = im if kind == "mag" else iflux
    if iv is None:
        _fail(path, 0, f"kind={kind!r} requested but no {kind} column among {names}")
    return it, iv, ie, _pick(names, BAND_NAMES), kind


def _number(tok, path, line, what):
    try:
        return float(tok)
    except ValueError:
        _fail(path, line, f"{what} {tok!r} is not a number")


def _maybe(tok):
    try:
        return float(tok)
    except ValueError:
        return np.nan


def read_text(path, *, kind: str = "auto", band: str | None = None, zero_point: float = ZERO_POINT):
    """Whitespace columns ``time value error [band]``; returns one Dataset per band."""
    path = Path(path)
    header = None
    rows = []
    for no, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            words = re.split(r"[\s,]+", line.lstrip("#").strip())
            if header is None and rows == [] and any(w.lower() in TIME_NAMES for w in words):
                header = words
            continue
        toks = line.split()
        if len(toks) < 3:
            _fail(path, no, f"expected at least 3 columns (time, mag or flux, error), found {len(toks)}")
        rows.append((no, toks))
    if header is not None:
        it, iv, ie, ib, kind = _columns(header, path, kind)
    else:
        it, iv, ie, ib = 0, 1, 2, (3 if rows and len(rows[0][1]) > 3 else None)
        if kind == "auto":
            v = np.array([_maybe(r[1][1]) for r in rows[:200]])
            v = v[np.isfinite(v)]
            kind = "mag" if v.size and np.all((v > 5) & (v < 30)) else "flux"
    need = max(i for i in (it, iv, ie, ib) if i is not None) + 1
    groups: dict[str, list] = {}
    for no, toks in rows:
        if len(toks) < need:
            _fail(path, no, f"expected {need} columns, found {len(toks)}")
        b = band or (toks[ib] if ib is not None else "data")
        groups.setdefault(b, []).append((no, _number(toks[it], path, no, "time"),
                                         _number(toks[iv], path, no, kind), _number(toks[ie], path, no, "error")))
    if not groups:
        _fail(path, 0, "no data rows")
    return [_finish(path, f"{path.stem}" + (f":{b}" if len(groups) > 1 else ""), b, g, kind, zero_point)
            for b, g in groups.items()]


def read_ipac(path, *, kind: str = "auto", band: str | None = None, zero_point: float = ZERO_POINT):
    """IPAC table (NASA Exoplanet Archive style); returns one Dataset per band."""
    path = Path(path)
    keywords, header_rows, rows = {}, [], []
    for no, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if line.startswith("\\"):
            m = re.match(r"\\\s*([A-Za-z0-9_ ]+?)\s*=\s*(.*)$", line)
            if m:
                keywords[m.group(1).strip().upper()] = m.group(2).strip().strip("'\"")
            continue
        if line.startswith("|"):
            header_rows.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        if not header_rows:
            _fail(path, no, "data row before the '|' column-name row of the IPAC header")
        rows.append((no, line.split()))
    if not header_rows:
        _fail(path, 0, "no '|' column-name row: not an IPAC table")
    names = header_rows[0]
    it, iv, ie, ib, kind = _columns(names, path, kind)
    default_band = band or keywords.get("BAND") or keywords.get("FILTER") or keywords.get("TELESCOPE") or "data"
    groups: dict[str, list] = {}
    for no, toks in rows:
        if len(toks) != len(names):
            _fail(path, no, f"expected {len(names)} columns ({', '.join(names)}), found {len(toks)}")
        b = band or (toks[ib] if ib is not None else default_band)
        vals = []
        for idx, what in ((it, "time"), (iv, kind), (ie, "error")):
            tok = toks[idx]
            vals.append(np.nan if tok.lower() in ("null", "nan") else _number(tok, path, no, what))
        groups.setdefault(b, []).append((no, *vals))
    if not groups:
        _fail(path, 0, "no data rows")
    return [_finish(path, f"{path.stem}" + (f":{b}" if len(groups) > 1 else ""), b, g, kind, zero_point)
            for b, g in groups.items()]


def read_photometry(path, *, kind: str = "auto", band: str | None = None, zero_point: float = ZERO_POINT):
    """Read one file (IPAC if it has ``|`` header rows or ``\\`` keywords, else whitespace text)."""
    path = Path(path)
    if kind not in ("auto", "mag", "flux"):
        raise ValueError(f"kind={kind!r} is not one of 'auto', 'mag', 'flux'")
    if not path.is_file():
        raise PhotometryError(f"{path}: no such file")
    head = path.read_text(errors="replace").lstrip()[:1]
    reader = read_ipac if head in ("\\", "|") else read_text
    return reader(path, kind=kind, band=band, zero_point=zero_point)


def datasets_from_survey(obs) -> list[Dataset]:
    """Datasets (one per band) from one event's rows of a simulated survey's ``obs`` table,
    observed from Roman (``observer``: the Sun-Earth L2 model ephemeris over their times)."""
    out = []
    for band, g in obs.groupby("band", sort=True):
        ok = np.isfinite(g["flux"].to_numpy()) & (g["flux_err"].to_numpy() > 0) & ~g["saturated"].to_numpy()
        t = g["bjd"].to_numpy()[ok]
        out.append(Dataset(name=str(band), band=str(band), t=t, flux=g["flux"].to_numpy()[ok],
                           flux_err=g["flux_err"].to_numpy()[ok], time_note="full BJD", source="survey",
                           extra={"absolute": True}, observer=roman_ephemeris(t) if t.size else None))
    return out
