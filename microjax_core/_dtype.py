"""Precision guard shared by the kernels: lensing needs float64."""
from __future__ import annotations

import jax.numpy as jnp

X64_HINT = (
    "microjax_core needs float64: turn on JAX's 'jax_enable_x64' option at your entry point "
    "(or set JAX_ENABLE_X64=1) and pass float64/complex128 values"
)


def require_float64(name: str, *values) -> None:
    """Raise a clear TypeError if any value is single precision (or lower).

    The polynomial route loses ~half its digits near caustics and for small mass
    ratios, so float32 would give silently wrong magnifications; we refuse it.
    """
    for v in values:
        dt = jnp.result_type(v)
        if jnp.issubdtype(dt, jnp.inexact) and jnp.finfo(dt).bits < 64:
            raise TypeError(f"{name}: got {dt} input; {X64_HINT}")
