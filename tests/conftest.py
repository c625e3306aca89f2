"""Strict test runtime: float64 on, and (pyproject) every warning is an error.

The tests are the entry point here, so they (not the library) enable x64.
"""
import jax

jax.config.update("jax_enable_x64", True)
