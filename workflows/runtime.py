"""Process-wide settings, applied once by entry points (never on import of the core)."""
from __future__ import annotations

import logging
import os


def configure(*, x64: bool = True, platform: str | None = None, log_level: str = "WARNING") -> None:
    """Enable float64 and pick the JAX platform before any computation runs."""
    if platform:
        os.environ.setdefault("JAX_PLATFORMS", platform)
    import jax

    jax.config.update("jax_enable_x64", x64)
    logging.basicConfig(level=getattr(logging, log_level.upper()), format="%(levelname)s %(name)s: %(message)s")
