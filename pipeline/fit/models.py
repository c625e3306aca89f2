"""Event models: fit coordinates -> physical parameters -> magnification on a padded time grid.

Fit coordinates (what optimisers and NUTS move) are chosen for good geometry
(DESIGN.md §5.2): ``t0, log_tE, u0, log_rho, alpha, log_s, log_q, log_s13, log_q3, psi,
piEN, piEE`` (natural logs). Physical names follow DESIGN.md §3. The magnification
comes from ``microjax_core`` (Paczynski for a point source and point lens; the FSPL
chord integral; ``magnification`` for binary and triple lenses).
"""
from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

import microjax_core as mc

__all__ = ["ModelSpec", "MODEL_TYPES", "physical", "model_lens", "model_magnification"]

MODEL_TYPES = ("1L1S", "2L1S", "3L1S")
LOG_PARAMS = {"log_tE": "tE", "log_rho": "rho", "log_s": "s", "log_q": "q", "log_s13": "s13", "log_q3": "q3"}


@dataclass(frozen=True)
class ModelSpec:
    """Static description of a model (hashable: one compiled function per spec and bucket).

    ``method``: how a finite source is computed for binary/triple lenses
    (``"auto"``: point source / multipole / ICRS per point; ``"point"``: point source,
    ``rho`` not fitted). For ``1L1S`` a finite source uses the FSPL integral.
    """

    model_type: str = "1L1S"
    finite_source: bool = False
    parallax: bool = False
    method: str = "auto"

    def __post_init__(self):
        if self.model_type not in MODEL_TYPES:
            raise ValueError(f"model_type={self.model_type!r} is not one of {MODEL_TYPES}")
        if self.method not in ("auto", "point"):
            raise ValueError(f"method={self.method!r} is not 'auto' or 'point'")

    @property
    def names(self) -> tuple[str, ...]:
        out = ["t0", "log_tE", "u0"]
        if self.finite_source:
            out.append("log_rho")
        if self.model_type != "1L1S":
            out += ["alpha", "log_s", "log_q"]
        if self.model_type == "3L1S":
            out += ["log_s13", "log_q3", "psi"]
        if self.parallax:
            out += ["piEN", "piEE"]
        return tuple(out)

    @property
    def label(self) -> str:
        extra = ("FS" if self.finite_source else "PS") + ("+parallax" if self.parallax else "")
        return f"{self.model_type}-{extra}"


def physical(spec: ModelSpec, theta) -> dict:
    """Physical parameters (DESIGN.md §3 names) from a fit-coordinate vector."""
    out = {}
    for k, name in enumerate(spec.names):
        v = theta[k]
        if name in LOG_PARAMS:
            out[LOG_PARAMS[name]] = jnp.exp(v)
        else:
            out[name] = v
    return out


def model_lens(spec, p):
    """The lens of physical parameters ``p`` (arrays give a batch of lenses)."""
    if spec.model_type == "1L1S":
        return mc.PointLens()
    if spec.model_type == "2L1S":
        return mc.BinaryLens(p["s"], p["q"])
    return mc.TripleLens(p["s"], p["q"], p["s13"], p["q3"], p["psi"])


def model_trajectory(spec: ModelSpec, p, t, offsets=None):
    """Source positions ``w(t)`` of physical parameters ``p`` (with parallax when ``spec.parallax``)."""
    alpha = p.get("alpha", 0.0)
    if spec.parallax:
        return mc.trajectory_with_parallax(t, p["t0"], p["tE"], p["u0"], alpha, p["piEN"], p["piEE"], offsets)
    return mc.source_trajectory(t, p["t0"], p["tE"], p["u0"], alpha)


def model_magnification(spec: ModelSpec, theta, t, offsets=None):
    """``A(t)`` for fit coordinates ``theta``. ``offsets``: ``parallax_offsets`` at ``t`` (parallax only)."""
    p = physical(spec, theta)
    w = model_trajectory(spec, p, t, offsets)
    if spec.model_type == "1L1S":
        if spec.finite_source:
            return mc.single_lens_finite_source_magnification(w, p["rho"])
        u2 = jnp.real(w) ** 2 + jnp.imag(w) ** 2
        return (u2 + 2) / jnp.sqrt(u2 * (u2 + 4))
    lens = model_lens(spec, p)
    if not spec.finite_source or spec.method == "point":
        return mc.point_source_magnification(w, lens)
    return mc.magnification(w, lens, p["rho"], method="auto")
