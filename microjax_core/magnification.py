"""``magnification``: the one entry point for point and finite sources, any lens.

Per source position it uses the cheapest method that meets the accuracy
(DESIGN.md §4.5):

* ``rho == 0`` (a concrete zero): point source.
* ``PointLens`` with ``rho > 0``: the single-lens finite-source integral (Lee et al. 2009).
* binary and triple lenses, three tiers: the point source where every caustic branch
  is more than ``point_source_factor * rho`` away (the finite-source correction there
  is ~(rho/d)**2 <= 1e-4 at the default 100); quadrupole + hexadecapole
  (``multipole_terms``) where the conservative test ``multipole_is_valid`` passes (far
  from every caustic and a converged series); for a uniform source, contour integration
  (``contour``: 16, then 32 Gauss-Legendre intervals) where its error estimate passes; full
  ICRS (``icrs_magnification``) everywhere else.

The multipole and ICRS tiers run only on the points that need them, gathered to the
front and processed in chunks by a ``lax.scan`` whose later chunks are skipped by
``lax.cond`` when fewer points need them. There is no budget to overflow: every point
that needs ICRS gets it (under ``vmap`` the skipped chunks are computed and masked,
so vmapped calls cost the full price: ``magnification_batch`` gathers across events instead). Each chunk is checkpointed, so reverse mode
keeps one chunk's grid in memory at a time.

``accuracy`` picks the ICRS grid and the contour tier's trust threshold: ``"default"`` (max
relative error <= 7.4e-4 and median <= 6e-6 on the benchmark's caustic crossings for rho = 1e-2 ..
1e-3; uniform sources median ~1e-10, see benchmarks/RESULTS.md) or ``"high"`` (max <= 1.03e-4
there: ~1e-4 at A ~ 75 ring points that fall back to ICRS; twice the limb samples, 12x the theta
lines, twice the radial nodes; ~5-7x the time per ICRS point). Measured on binary lenses, and on a
triple lens (a planet in a binary) at rho = 1e-2 / 1e-3: max 3.4e-5 / 1.0e-5 (default, uniform;
ICRS alone 3.1e-4 / 1.3e-5). Explicit ``icrs_settings`` override.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ._dtype import require_float64
from .caustics import critical_curves_and_caustics
from .contour import CONTOUR_DEFAULTS, _contour_one
from .icrs import ICRS_DEFAULTS, _icrs_one
from .lenses import PointLens, _Lens
from .limb_darkening import UniformSource, as_profile
from .multipole import multipole_terms
from .multipole_validity import caustic_distance, multipole_is_valid
from .point_source import DEFAULT_IMAGE_TOL, DEFAULT_MAX_ITER, point_source_magnification
from .single_lens_finite_source import single_lens_finite_source_magnification

__all__ = ["magnification", "ACCURACY_SETTINGS"]

ACCURACY_SETTINGS = {
    "default": dict(ICRS_DEFAULTS),
    # max <= 7.5e-5 on the benchmark's eight curves (the earlier 256 / 128 / 32: 1.1e-4 to 4.1e-4)
    "high": dict(ICRS_DEFAULTS, n_limb=256, n_theta=768, n_r=32),
}
_METHODS = ("auto", "icrs", "multipole", "point")
# the contour tier's trust test per accuracy (``contour.py``: an estimate of the quadrature
# error over the total; the measured errors of accepted points are ~100x below it)
CONTOUR_TOL = {"default": 1e-3, "high": 1e-5}
CONTOUR_PASSES = (16, 32)  # intervals of the contour passes; a point the first does not trust gets the second


def _icrs_settings(accuracy, icrs_settings):
    if accuracy not in ACCURACY_SETTINGS:
        raise ValueError(f"accuracy={accuracy!r} is not one of {sorted(ACCURACY_SETTINGS)}")
    settings = dict(ACCURACY_SETTINGS[accuracy])
    unknown = set(icrs_settings or {}) - set(settings)
    if unknown:
        raise ValueError(f"unknown ICRS settings {sorted(unknown)}; allowed: {sorted(settings)}")
    settings.update(icrs_settings or {})
    return tuple(sorted(settings.items()))


def magnification(w, lens: _Lens, rho=0.0, limb_darkening=None, *, method: str = "auto",
                  accuracy: str = "default", chunk_size: int = 16, caustic_points: int = 1000,
                  point_source_factor: float = 100.0, icrs_settings: dict | None = None):
    """Magnification of a source of radius ``rho`` centred at ``w`` (complex, any shape).

    ``lens``: ``PointLens()``, ``BinaryLens(s, q)`` or ``TripleLens(...)``.
    ``limb_darkening``: ``None``/``UniformSource()``, ``LinearLD(u)``, ``QuadraticLD(a, b)``,
    ``SquareRootLD(c, d)``. ``rho`` and the coefficients may be traced (differentiable);
    a traced ``rho`` must be positive. ``method``: ``"auto"`` (see the module doc),
    or force ``"icrs"``, ``"multipole"`` or ``"point"``. Static: ``method``,
    ``accuracy``, ``chunk_size``, ``caustic_points``, ``point_source_factor``, ``icrs_settings``.
    Returns a real array of ``w``'s shape.
    """
    if method not in _METHODS:
        raise ValueError(f"method={method!r} is not one of {_METHODS}")
    if not isinstance(lens, _Lens):
        raise TypeError(f"lens must be PointLens(), BinaryLens(s, q) or TripleLens(...); got {lens!r}")
    w = jnp.asarray(w)
    require_float64("magnification", w, *jax.tree_util.tree_leaves(lens))
    w = w.astype(jnp.result_type(w, 1j))
    profile = as_profile(limb_darkening)
    if not isinstance(rho, jax.core.Tracer):
        r = np.asarray(rho, dtype=float)
        if r.shape != () or not np.isfinite(r) or r < 0:
            raise ValueError(f"rho must be one finite number >= 0 (source radius in Einstein radii); got {rho!r}")
        if r == 0 or method == "point":
            return point_source_magnification(w, lens)
    elif method == "point":
        return point_source_magnification(w, lens)
    rho = jnp.asarray(rho, jnp.real(w).dtype)
    if isinstance(lens, PointLens):
        return single_lens_finite_source_magnification(w, rho, profile)
    settings = _icrs_settings(accuracy, icrs_settings)
    contour_tol = CONTOUR_TOL[accuracy] if isinstance(profile, UniformSource) and method == "auto" else None
    flat = w.reshape(-1)
    out = _finite_source(flat, lens, rho, profile, method, int(chunk_size), int(caustic_points), settings,
                         float(point_source_factor), contour_tol)
    return out.reshape(w.shape)


def _icrs_call(settings):
    s = dict(settings)
    return lambda x, lens, rho, profile: _icrs_one(
        x, lens, rho, profile, s["n_limb"], s["n_theta"], s["n_r"], s["n_gl"], s["max_segments"],
        s["n_newton"], DEFAULT_MAX_ITER, DEFAULT_IMAGE_TOL)[0]


def _on_subset(fn, n, need, chunk_size, fill):
    """``fn(indices)`` on the ``n`` points where ``need`` holds, gathered to the front in chunks.

    A ``lax.scan`` over ``ceil(n/chunk_size)`` chunks whose chunks past the number of
    needed points are skipped by ``lax.cond`` (no static budget, nothing dropped).
    Returns ``fn``'s outputs scattered back to the points' positions (``fill`` elsewhere).
    """
    n_chunks = -(-n // chunk_size)
    order = jnp.argsort(~need, stable=True)
    order = jnp.concatenate([order, jnp.full((n_chunks * chunk_size - n,), order[0])])
    n_need = jnp.sum(need)
    run = jax.checkpoint(fn)

    def body(carry, k):
        idx = jax.lax.dynamic_slice_in_dim(order, k * chunk_size, chunk_size)
        return carry, jax.lax.cond(k * chunk_size < n_need, run, lambda i: fill(i.shape[0]), idx)

    _, out = jax.lax.scan(body, None, jnp.arange(n_chunks))
    # order[:n] is a permutation; the padding repeats are dropped
    return jax.tree_util.tree_map(
        lambda a: jnp.zeros((n,) + a.shape[2:], a.dtype).at[order[:n]].set(a.reshape((-1,) + a.shape[2:])[:n]),
        out)


def _contour_call(tol, n_intervals):
    s = dict(CONTOUR_DEFAULTS, tol=tol, n_intervals=n_intervals)
    return lambda x, lens, rho: _contour_one(x, lens, rho, s["n_coarse"], s["n_intervals"], s["n_gauss"],
                                             s["max_crossings"], s["tol"], DEFAULT_MAX_ITER, DEFAULT_IMAGE_TOL)


@partial(jax.jit, static_argnums=(4, 5, 6, 7, 8, 9))
def _finite_source(w, lens, rho, profile, method, chunk_size, caustic_points, settings, point_factor, contour_tol):
    icrs_one = _icrs_call(settings)
    real = jnp.real(w).dtype
    n = w.shape[0]

    def icrs(x):
        return jax.vmap(lambda p: icrs_one(p, lens, rho, profile))(x)

    if method == "icrs":
        return _on_subset(lambda i: icrs(w[i]), n, jnp.ones((n,), bool), chunk_size, lambda m: jnp.zeros((m,), real))
    _, caustics = critical_curves_and_caustics(lens, n_points=caustic_points)

    def multipole(x):
        terms = multipole_terms(x, lens, rho, profile)
        return terms.magnification, multipole_is_valid(x, caustics, rho, terms)

    if method == "multipole":
        return multipole_terms(w, lens, rho, profile).magnification
    # tier 1: point source where every caustic is > point_factor * rho away
    point = point_source_magnification(w, lens)
    near = caustic_distance(w, caustics) <= point_factor * rho
    # tier 2: quadrupole + hexadecapole where its validity test passes
    mp_value, mp_valid = _on_subset(lambda i: multipole(w[i]), n, near, 4 * chunk_size,
                                    lambda m: (jnp.zeros((m,), real), jnp.zeros((m,), bool)))
    need = near & ~mp_valid
    tiered = jnp.where(near, mp_value, point)
    chunk = chunk_size
    for n_intervals in CONTOUR_PASSES if contour_tol is not None else ():
        # tier 3 (uniform sources): contour integration where its error estimate passes
        contour_one = _contour_call(contour_tol, n_intervals)
        c_value, c_ok = _on_subset(lambda i: jax.vmap(lambda p: contour_one(p, lens, rho))(w[i]), n, need,
                                   chunk, lambda m: (jnp.zeros((m,), real), jnp.zeros((m,), bool)))
        tiered = jnp.where(need, c_value, tiered)
        need = need & ~c_ok
        chunk = max(1, chunk_size // 4)  # the later tiers get the few points left: smaller chunks waste less
    # last tier: ICRS everywhere else
    full = _on_subset(lambda i: icrs(w[i]), n, need, chunk, lambda m: jnp.zeros((m,), real))
    return jnp.where(need, full, tiered)
