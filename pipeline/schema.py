"""The pyarrow schemas of every table the pipeline writes: one source of truth (DESIGN.md §5.1, §5.4).

Survey tables (``simulate``), shaped like the 2026 Roman data challenge (RMDC26):
``obs`` (photometry), ``meta`` (per event) and ``truth`` (simulation inputs, kept
apart from any results). ``SCHEMA_VERSION`` is stored with every dataset.
"""
from __future__ import annotations

import pyarrow as pa

__all__ = ["SCHEMA_VERSION", "PARAMETERS", "OBS", "META", "TRUTH", "table"]

SCHEMA_VERSION = 1

#: Event parameter names used everywhere (DESIGN.md §3).
PARAMETERS = ("t0", "tE", "u0", "rho", "alpha", "s", "q", "s13", "q3", "psi", "piEN", "piEE")

OBS = pa.schema([
    ("event_id", pa.int64()),
    ("bjd", pa.float64()),
    ("band", pa.string()),
    ("flux", pa.float64()),  # counts/s (W149 zero point 27.615 = 1 count/s)
    ("flux_err", pa.float64()),
    ("mag", pa.float64()),  # NaN where the measured flux is not positive
    ("mag_err", pa.float64()),
    ("saturated", pa.bool_()),
])

META = pa.schema([
    ("event_id", pa.int64()),
    ("field", pa.int16()),
    ("ra", pa.float64()),
    ("dec", pa.float64()),
    ("band", pa.string()),
    ("baseline_mag", pa.float64()),
    ("n_obs", pa.int64()),
    ("bjd_start", pa.float64()),
    ("bjd_end", pa.float64()),
    ("season", pa.int16()),
    ("window", pa.string()),
    ("preset", pa.string()),
])

TRUTH = pa.schema(
    [("event_id", pa.int64()), ("population", pa.string()), ("model_type", pa.string())]
    + [(p, pa.float64()) for p in PARAMETERS]
    + [
        ("t0_par", pa.float64()),  # parallax reference time (= t0 in simulations)
        ("fs_W149", pa.float64()),
        ("fb_W149", pa.float64()),
        ("source_mag", pa.float64()),
        ("blend_fraction", pa.float64()),  # fb / (fs + fb)
        ("baseline_mag", pa.float64()),
        ("max_magnification", pa.float64()),
    ]
)


def table(columns: dict, schema: pa.Schema) -> pa.Table:
    """A table in ``schema`` from a dict of columns; missing or extra columns are an error."""
    names = set(schema.names)
    missing, extra = names - set(columns), set(columns) - names
    if missing or extra:
        raise ValueError(f"columns do not match the schema: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return pa.table({name: columns[name] for name in schema.names}, schema=schema)
