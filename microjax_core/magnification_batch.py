"""``magnification_batch``: finite-source light curves of many events in one call.

``jax.vmap`` of ``magnification`` over events turns the ``lax.cond`` that skips unused
ICRS chunks into a select, so every point of every event pays for full ICRS. Here the
three tiers of ``magnification`` (point source, multipole where its validity test
passes, ICRS elsewhere; DESIGN.md §4.5) are chosen per point of the whole batch, and the
points that need the multipole or ICRS are gathered across events into shared chunks,
each point carrying its own event's lens, ``rho`` and limb-darkening coefficients.
The cost follows the number of points near caustics in the batch, not ``events x
points``: the way to fill a GPU (REFERENCE-FIGURES.md: one light curve leaves it idle).

Values are those of ``magnification`` point by point (same kernels, same tiers); the
batch only changes which points share a chunk. Differentiable in ``w``, the lens
parameters, ``rho`` and the coefficients, as ``magnification``.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from ._dtype import require_float64
from .caustics import critical_curves_and_caustics
from .lenses import PointLens, _Lens
from .limb_darkening import UniformSource, as_profile
from .magnification import CONTOUR_PASSES, CONTOUR_TOL, _contour_call, _icrs_call, _icrs_settings, _on_subset
from .multipole import multipole_terms
from .multipole_validity import caustic_distance, multipole_is_valid
from .point_source import point_source_magnification

__all__ = ["magnification_batch"]


def magnification_batch(w, lens: _Lens, rho, limb_darkening=None, *, accuracy: str = "default",
                        chunk_size: int = 64, caustic_points: int = 1000, point_source_factor: float = 100.0,
                        icrs_settings: dict | None = None):
    """Magnification of ``E`` events at ``N`` source positions each: ``w`` complex ``(E, N)``.

    ``lens``: a ``BinaryLens`` or ``TripleLens`` whose parameters are arrays of shape
    ``(E,)`` (one lens per event). ``rho``: ``(E,)``, every value > 0 (use
    ``point_source_magnification`` for point sources). ``limb_darkening``: ``None`` or a law
    whose coefficients are scalars (shared) or ``(E,)`` arrays. Static: ``accuracy``,
    ``chunk_size`` (points per ICRS chunk; the multipole tier uses 4x), ``caustic_points``,
    ``point_source_factor``, ``icrs_settings`` (as in ``magnification``). Returns ``(E, N)``.
    """
    if not isinstance(lens, _Lens) or isinstance(lens, PointLens):
        raise TypeError(f"lens must be a BinaryLens or TripleLens with (E,)-shaped parameters; got {lens!r}")
    w = jnp.asarray(w)
    if w.ndim != 2:
        raise ValueError(f"w must have shape (events, points); got shape {w.shape}")
    n_events = w.shape[0]
    w = w.astype(jnp.result_type(w, 1j))
    profile = as_profile(limb_darkening)
    rho = jnp.asarray(rho, jnp.real(w).dtype)
    require_float64("magnification_batch", w, rho, *jax.tree_util.tree_leaves((lens, profile)))
    for name, leaf in [("rho", rho)] + [(f"lens.{f}", getattr(lens, f)) for f in lens._fields]:
        if jnp.shape(leaf) != (n_events,):
            raise ValueError(f"{name} must have shape ({n_events},) (one per event); got shape {jnp.shape(leaf)}")
    if not isinstance(rho, jax.core.Tracer) and not bool(jnp.all(rho > 0)):
        raise ValueError(f"rho must be > 0 for every event; got {rho}")
    profile = jax.tree_util.tree_map(lambda c: jnp.broadcast_to(jnp.asarray(c, rho.dtype), (n_events,)), profile)
    settings = _icrs_settings(accuracy, icrs_settings)
    contour_tol = CONTOUR_TOL[accuracy] if isinstance(profile, UniformSource) else None
    return _batch(w, lens, rho, profile, int(chunk_size), int(caustic_points), settings, float(point_source_factor),
                  contour_tol)


@partial(jax.jit, static_argnums=(4, 5, 6, 7, 8))
def _batch(w, lens, rho, profile, chunk_size, caustic_points, settings, point_factor, contour_tol):
    n_events, n = w.shape
    real = jnp.real(w).dtype
    icrs_one = _icrs_call(settings)
    caustics = jax.vmap(lambda ln: critical_curves_and_caustics(ln, n_points=caustic_points)[1])(lens)
    point = jax.vmap(point_source_magnification)(w, lens)
    near = jax.vmap(caustic_distance)(w, caustics) <= point_factor * rho[:, None]
    flat_w, event = w.reshape(-1), jnp.repeat(jnp.arange(n_events), n)
    near = near.reshape(-1)

    def per_point(fn):
        """``fn(x, lens, rho, profile, caustics)`` over a chunk of flat indices, each with its event's data."""
        def run(idx):
            e = event[idx]
            pick = partial(jax.tree_util.tree_map, lambda a: a[e])
            return jax.vmap(fn)(flat_w[idx], pick(lens), rho[e], pick(profile), caustics[e])
        return run

    def multipole(x, ln, r, prof, ca):
        terms = multipole_terms(x, ln, r, prof)
        return terms.magnification, multipole_is_valid(x, ca, r, terms)

    mp_value, mp_valid = _on_subset(per_point(multipole), n_events * n, near, 4 * chunk_size,
                                    lambda m: (jnp.zeros((m,), real), jnp.zeros((m,), bool)))
    need = near & ~mp_valid
    tiered = jnp.where(near, mp_value, point.reshape(-1))
    chunk = chunk_size
    for n_intervals in CONTOUR_PASSES if contour_tol is not None else ():  # uniform sources: contour
        contour_one = _contour_call(contour_tol, n_intervals)  # integration where it is trusted
        c_value, c_ok = _on_subset(per_point(lambda x, ln, r, prof, ca: contour_one(x, ln, r)), n_events * n, need,
                                   chunk, lambda m: (jnp.zeros((m,), real), jnp.zeros((m,), bool)))
        tiered = jnp.where(need, c_value, tiered)
        need = need & ~c_ok
        chunk = max(1, chunk_size // 4)  # few points left for the later tiers
    full = _on_subset(per_point(lambda x, ln, r, prof, ca: icrs_one(x, ln, r, prof)), n_events * n, need,
                      chunk, lambda m: jnp.zeros((m,), real))
    out = jnp.where(need, full, tiered)
    return out.reshape(n_events, n)
