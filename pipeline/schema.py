"""The pyarrow schemas of every table the pipeline writes: one source of truth (DESIGN.md §5.1, §5.4).

Survey tables (``simulate``), shaped like the 2026 Roman data challenge (RMDC26):
``obs`` (photometry), ``meta`` (per event) and ``truth`` (simulation inputs, kept
apart from any results). ``SCHEMA_VERSION`` is stored with every dataset.
"""
from __future__ import annotations

import pyarrow as pa

__all__ = ["SCHEMA_VERSION", "PARAMETERS", "OBS", "META", "TRUTH", "SOLUTIONS", "POSTERIOR", "LEDGER", "STATUSES",
           "table"]

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


#: Values of the ``status`` column of a solution row.
STATUSES = ("ok", "unconverged", "failed")

#: One row per solution (mode) of one event (DESIGN.md §5.4; names follow microlens-submit).
SOLUTIONS = pa.schema(
    [("event_id", pa.int64()), ("solution_id", pa.string()), ("run_id", pa.string()), ("model_type", pa.string()),
     ("higher_order_effects", pa.string()), ("mode_label", pa.string()), ("is_best", pa.bool_()),
     ("relative_probability", pa.float64())]
    + [(f"{p}_{k}", pa.float64()) for p in PARAMETERS for k in ("median", "q16", "q84", "map")]
    + [("chi2", pa.float64()), ("n_data_points", pa.int64()), ("log_likelihood", pa.float64()),
       ("delta_chi2_vs_1L1S", pa.float64()),
       ("r_hat_max", pa.float64()), ("ess_bulk_min", pa.float64()), ("ess_tail_min", pa.float64()),
       ("n_divergences", pa.int64()), ("bfmi_min", pa.float64()), ("n_warmup", pa.int64()),
       ("n_samples", pa.int64()), ("n_chains", pa.int64()),
       ("fs_W149", pa.float64()), ("fb_W149", pa.float64()),
       ("fluxes_json", pa.string()),  # {"dataset": [fs, fb, error_scale], ...} for every dataset
       ("anomaly_delta_chi2", pa.float64()),
       ("status", pa.string()), ("error_msg", pa.string()), ("wall_time_s", pa.float64()),
       ("device", pa.string()), ("worker", pa.string()), ("attempt", pa.int64()),
       ("code_version", pa.string()), ("config_hash", pa.string()), ("created_utc", pa.string())]
)

#: Posterior draws, keyed by ``solution_id`` (NaN for parameters a model does not have).
POSTERIOR = pa.schema(
    [("event_id", pa.int64()), ("solution_id", pa.string()), ("run_id", pa.string()),
     ("chain", pa.int16()), ("draw", pa.int32())] + [(p, pa.float64()) for p in PARAMETERS]
)

#: One row per finished event of a run (the catalog's ``_ledger``).
LEDGER = pa.schema([("run_id", pa.string()), ("event_id", pa.int64()), ("status", pa.string()),
                    ("n_solutions", pa.int64()), ("part", pa.string()), ("finished_utc", pa.string())])


def table(columns: dict, schema: pa.Schema) -> pa.Table:
    """A table in ``schema`` from a dict of columns; missing or extra columns are an error."""
    names = set(schema.names)
    missing, extra = names - set(columns), set(columns) - names
    if missing or extra:
        raise ValueError(f"columns do not match the schema: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return pa.table({name: columns[name] for name in schema.names}, schema=schema)
