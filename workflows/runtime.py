"""Process-wide settings, applied once by entry points (never on import of the core)."""
from __future__ import annotations

import logging
import os


def configure(*, x64: bool = True, platform: str | None = None, log_level: str = "WARNING") -> None:
    """Enable float64 and pick the JAX platform before any computation runs."""
    if platform:
        os.environ.setdefault("JAX_PLATFORMS", platform)
    # Dask configures its loggers at INFO when distributed is imported: quieter unless asked for
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "info" if log_level.upper() in ("INFO", "DEBUG") else "warning")
    import jax

    jax.config.update("jax_enable_x64", x64)
    # Reuse compiled kernels across runs (the finite-source kernels take tens of seconds
    # to compile, the fit's hundreds of small programs seconds together): JAX's persistent cache, every program in
    # it, off with MICROJAX_SURVEY_CACHE=off.
    cache = os.environ.get("MICROJAX_SURVEY_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "microjax-survey"))
    if cache.lower() != "off":
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    level = getattr(logging, log_level.upper())
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for name in ("distributed", "bokeh", "tornado"):  # Dask logs at INFO by default
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
