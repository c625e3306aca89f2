"""Padded fit data and the compiled chi^2 / log-likelihood of a model (DESIGN.md §4.6, §5.2).

Datasets are stacked into arrays of shape ``(n_datasets, L)`` where ``L`` is a power
of two (>= ``MIN_BUCKET``), with a mask, so one compiled function serves every event
whose data fall in the same bucket. ``(fs, fb)`` are solved per dataset.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

import microjax_core as mc

from .models import ModelSpec, model_magnification

__all__ = ["FitData", "pack", "bucket", "chi2_function", "batched_chi2", "value_and_grad_function", "fluxes_function",
           "MIN_BUCKET", "compile_count"]

MIN_BUCKET = 256
_COMPILES = {"n": 0}


def compile_count() -> int:
    """How many chi^2 functions this process has traced (one per spec, bucket and kind)."""
    return _COMPILES["n"]


def bucket(n: int) -> int:
    return max(MIN_BUCKET, 1 << int(np.ceil(np.log2(max(n, 1)))))


@jax.tree_util.register_pytree_node_class
@dataclass
class FitData:
    """Arrays ``(n_datasets, L)``: ``t, flux, err, mask``, parallax ``offsets (n_datasets, 2, L)`` and
    the lower bound on each dataset's blend flux ``fb_min (n_datasets,)`` (``-inf``: none)."""

    t: jax.Array
    flux: jax.Array
    err: jax.Array
    mask: jax.Array
    offsets: jax.Array
    fb_min: jax.Array

    def tree_flatten(self):
        return (self.t, self.flux, self.err, self.mask, self.offsets, self.fb_min), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)

    @property
    def n_points(self) -> int:
        return int(np.asarray(self.mask).sum())


def pack(datasets, *, error_scale=None, ra=None, dec=None, t0_par=None, size: int | None = None,
         blend_floor: bool = True) -> FitData:
    """Pad datasets (``photometry.Dataset``) to one bucket. ``error_scale``: a factor per dataset.

    ``blend_floor``: bound ``fb >= 0`` for datasets on an absolute flux scale
    (``extra["absolute"]``: magnitudes converted to flux, the survey simulator's fluxes);
    difference fluxes are never bounded.

    Parallax offsets are computed when ``ra, dec, t0_par`` are given (annual parallax,
    geocentric; ``microjax_core.parallax_offsets``).
    """
    n = max(len(d) for d in datasets)
    size = size or bucket(n)
    k = len(datasets)
    t = np.zeros((k, size))
    flux = np.zeros((k, size))
    err = np.ones((k, size))
    mask = np.zeros((k, size), bool)
    offsets = np.zeros((k, 2, size))
    scales = np.ones(k) if error_scale is None else np.broadcast_to(np.asarray(error_scale, float), (k,))
    for i, d in enumerate(datasets):
        m = len(d)
        t[i, :m], flux[i, :m], err[i, :m], mask[i, :m] = d.t, d.flux, d.flux_err * scales[i], True
        t[i, m:] = d.t[-1]  # inert padding: a real time, masked out
        if ra is not None:
            offsets[i] = np.stack([np.asarray(x) for x in mc.parallax_offsets(jnp.asarray(t[i]), ra, dec, t0_par)])
    fb_min = np.array([0.0 if blend_floor and d.extra.get("absolute", False) else -np.inf for d in datasets])
    return FitData(*(jnp.asarray(a) for a in (t, flux, err, mask, offsets, fb_min)))


def _magnifications(spec, theta, data):
    def one(t, off):
        return model_magnification(spec, theta, t, (off[0], off[1]) if spec.parallax else None)
    return jax.vmap(one)(data.t, data.offsets)


def _chi2(spec, theta, data):
    a = _magnifications(spec, theta, data)
    a = jnp.where(data.mask, a, 1.0)
    per = jax.vmap(mc.likelihood.chi2_profiled)(a, data.flux, data.err, data.mask, data.fb_min)
    return jnp.sum(per)


@lru_cache(maxsize=None)
def chi2_function(spec: ModelSpec):
    """jit: ``chi2(theta, data)`` with ``fs, fb`` profiled."""
    _COMPILES["n"] += 1
    return jax.jit(lambda theta, data: _chi2(spec, theta, data))


GRID_BLOCK = 512


@lru_cache(maxsize=None)
def _batched(spec: ModelSpec):
    _COMPILES["n"] += 1
    return jax.jit(lambda thetas, data: jax.lax.map(lambda th: _chi2(spec, th, data), thetas, batch_size=32))


def batched_chi2(spec: ModelSpec, thetas, data: FitData) -> np.ndarray:
    """``chi2`` of many ``theta`` rows (grid searches), 32 at a time; rows padded to a multiple of 512."""
    thetas = np.asarray(thetas, float)
    n = thetas.shape[0]
    size = GRID_BLOCK * int(np.ceil(n / GRID_BLOCK))
    padded = np.concatenate([thetas, np.repeat(thetas[:1], size - n, axis=0)])
    return np.asarray(_batched(spec)(jnp.asarray(padded), data))[:n]


@lru_cache(maxsize=None)
def value_and_grad_function(spec: ModelSpec, forward: bool = False):
    """jit: ``(chi2, dchi2/dtheta)``; ``forward=True`` uses forward mode (cheaper memory for ICRS)."""
    _COMPILES["n"] += 1
    f = lambda theta, data: _chi2(spec, theta, data)  # noqa: E731
    if forward:
        return jax.jit(lambda theta, data: (f(theta, data), jax.jacfwd(f)(theta, data)))
    return jax.jit(jax.value_and_grad(f))


@lru_cache(maxsize=None)
def fluxes_function(spec: ModelSpec):
    """jit: per-dataset ``(fs, fb)`` and the magnification at the data times."""
    _COMPILES["n"] += 1

    def f(theta, data):
        a = jnp.where(data.mask, _magnifications(spec, theta, data), 1.0)
        fs, fb = jax.vmap(mc.likelihood.solve_fluxes)(a, data.flux, data.err, data.mask, data.fb_min)
        return fs, fb, a
    return jax.jit(f)
