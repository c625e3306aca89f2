"""Stages 1-3 of the staged fit (DESIGN.md §5.2): point-lens search, anomaly check, 2L1S seeds, local optimisation.

Grid evaluations are batched (``vmap``) and compiled once per model and bucket;
local optimisation is SciPy's L-BFGS-B on the jitted chi^2 and its gradient (Nelder-Mead
on the value alone where a gradient would be too costly to compile).
"""
from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
import scipy.optimize

import microjax_core as mc

from .models import ModelSpec
from .objective import (FitData, batched_chi2, chi2_function, jacobian_function, residuals_function,
                        value_and_grad_function)

__all__ = ["Mode", "optimise", "polish_least_squares", "point_lens_search", "anomaly", "binary_seeds", "triple_seeds", "BOUNDS", "N_GENERIC_SEEDS"]

BOUNDS = {"log_tE": (np.log(0.05), np.log(3000.0)), "u0": (-3.0, 3.0), "log_rho": (np.log(1e-5), np.log(0.5)),
          "alpha": (-4 * np.pi, 4 * np.pi), "log_s": (np.log(0.1), np.log(10.0)), "log_q": (np.log(1e-7), 0.0),
          "log_s13": (np.log(0.1), np.log(10.0)), "log_q3": (np.log(1e-7), 0.0), "psi": (-4 * np.pi, 4 * np.pi),
          "piEN": (-5.0, 5.0), "piEE": (-5.0, 5.0)}


@dataclass
class Mode:
    """One optimised solution: model, fit coordinates, chi^2 and a label."""

    spec: ModelSpec
    theta: np.ndarray
    chi2: float
    label: str = ""

    def value(self, name):
        return float(self.theta[self.spec.names.index(name)])


def _bounds(spec, data):
    t = np.asarray(data.t)[np.asarray(data.mask)]
    out = []
    for name in spec.names:
        out.append((float(t.min()) - 200.0, float(t.max()) + 200.0) if name == "t0" else BOUNDS[name])
    return out


def optimise(spec: ModelSpec, theta0, data: FitData, *, maxiter: int = 300, gradient: bool = True) -> Mode:
    """Local minimum of chi^2 from ``theta0`` (L-BFGS-B with jax gradients, or Nelder-Mead)."""
    bounds = _bounds(spec, data)
    x0 = np.clip(np.asarray(theta0, float), [b[0] for b in bounds], [b[1] for b in bounds])
    if gradient:
        vg = value_and_grad_function(spec)

        def f(x):
            v, g = vg(jnp.asarray(x), data)
            v, g = float(v), np.asarray(g, float)
            if not np.isfinite(v) or not np.all(np.isfinite(g)):
                return 1e300, np.zeros_like(x)
            return v, g
        res = scipy.optimize.minimize(f, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                      options={"maxiter": maxiter})
        if res.nit == 0 and not res.success:  # the first line search failed (e.g. a step off the data): simplex
            return optimise(spec, x0, data, maxiter=maxiter * 4, gradient=False)
    else:
        fn = chi2_function(spec)

        def f(x):
            v = float(fn(jnp.asarray(x), data))
            return v if np.isfinite(v) else 1e300
        res = scipy.optimize.minimize(f, x0, method="Nelder-Mead", bounds=bounds,
                                      options={"maxfev": maxiter, "xatol": 1e-5, "fatol": 0.05, "adaptive": True})
    return Mode(spec, np.asarray(res.x, float), float(res.fun))


def polish_least_squares(spec: ModelSpec, theta0, data: FitData, *, max_evaluations: int = 20) -> Mode:
    """Trust-region Gauss-Newton steps (SciPy's ``least_squares``, ``trf``: Branch, Coleman & Li 1999) on the
    profiled residuals with their exact Jacobian (``jacobian_function``, one JVP per parameter).

    For a caustic crossing chi^2 changes by hundreds over 1e-5 in ln s: from a point near the mode one
    Gauss-Newton step gets there (2,172 -> 1,835 in one step on the planetary test event), where L-BFGS-B
    stalls and Nelder-Mead needs minutes. Works in offsets from ``theta0`` (SciPy's step tolerance is
    relative to |theta|, which t0 ~ 2.46e6 d would dominate). Returns ``theta0``'s mode if nothing is better.
    """
    bounds = np.array(_bounds(spec, data))
    x0 = np.clip(np.asarray(theta0, float), bounds[:, 0] + 1e-9, bounds[:, 1] - 1e-9)
    mask = np.asarray(data.mask).ravel()
    res_fn, jac_fn = residuals_function(spec), jacobian_function(spec)

    def fun(dx):
        r = np.asarray(res_fn(jnp.asarray(x0 + dx), data)).ravel()[mask]
        return r if np.all(np.isfinite(r)) else np.full(r.shape, 1e10)

    def jac(dx):
        j = np.asarray(jac_fn(jnp.asarray(x0 + dx), data)[1]).reshape(-1, len(x0))[mask]
        return j if np.all(np.isfinite(j)) else np.zeros_like(j)
    r0 = fun(np.zeros_like(x0))
    res = scipy.optimize.least_squares(fun, np.zeros_like(x0), jac=jac, method="trf", x_scale="jac",
                                       bounds=(bounds[:, 0] - x0, bounds[:, 1] - x0), max_nfev=max_evaluations)
    chi2 = 2.0 * float(res.cost)
    if not chi2 < float(r0 @ r0):
        return Mode(spec, x0, float(r0 @ r0))
    return Mode(spec, x0 + res.x, chi2)


def _peak_times(data: FitData, k: int = 3):
    out = []
    for t, f, m in zip(np.asarray(data.t), np.asarray(data.flux), np.asarray(data.mask)):
        t, f = t[m], f[m]
        n = max(1, min(25, t.size // 20))
        smooth = np.convolve(f, np.ones(n) / n, mode="same")
        out.extend(t[np.argsort(smooth)[::-1][: 4 * n : n]][:k])
    return np.unique(np.round(out, 3))


def point_lens_search(data: FitData, *, parallax: bool = False) -> list[Mode]:
    """Stage 1: grid in (t0, tE, u0) about the brightest epochs, then L-BFGS. Best first."""
    spec = ModelSpec("1L1S", parallax=False)
    grid = np.array([(t0, np.log(te), u0) for t0 in _peak_times(data)
                     for te in np.geomspace(0.3, 300, 14) for u0 in (0.002, 0.01, 0.03, 0.1, 0.2, 0.4, 0.7, 1.0, 1.5)])
    chi = batched_chi2(spec, grid, data)
    order = np.argsort(np.where(np.isfinite(chi), chi, np.inf))
    modes = [optimise(spec, grid[i], data) for i in order[:3]]
    modes.sort(key=lambda m: m.chi2)
    best = modes[0]
    best.theta[2] = abs(best.theta[2])
    if parallax:
        pspec = ModelSpec("1L1S", parallax=True)
        modes = [optimise(pspec, np.r_[best.theta[:2], sign * best.theta[2], 0.0, 0.0], data) for sign in (1, -1)]
        modes.sort(key=lambda m: m.chi2)
    for m in modes:
        m.label = "1L1S"
    return modes


def residuals(mode: Mode, data: FitData):
    """Normalised residuals ``(flux - model)/err`` per dataset (masked points 0)."""
    from .objective import fluxes_function
    fs, fb, a = fluxes_function(mode.spec)(jnp.asarray(mode.theta), data)
    r = (data.flux - (fs[:, None] * a + fb[:, None])) / data.err
    return np.asarray(jnp.where(data.mask, r, 0.0))


def anomaly(mode: Mode, data: FitData, widths=(0.1, 0.3, 1.0, 3.0)) -> dict:
    """Stage 2: the time window (of the given widths, days) with the largest chi^2 excess over the fit.

    Returns ``{"delta_chi2", "z", "t", "width"}``: excess ``sum(r^2) - n`` in the worst
    window, its significance ``excess / sqrt(2 n)``, centre and width.
    """
    r = residuals(mode, data)
    best = {"delta_chi2": 0.0, "z": 0.0, "t": float("nan"), "width": float("nan")}
    for t, rr, m in zip(np.asarray(data.t), r, np.asarray(data.mask)):
        t, r2 = t[m], rr[m] ** 2
        c = np.r_[0.0, np.cumsum(r2)]
        for width in widths:
            hi = np.searchsorted(t, t + width)
            n = hi - np.arange(t.size)
            excess = c[hi] - c[:-1] - n
            z = excess / np.sqrt(2.0 * np.maximum(n, 1))
            k = int(np.argmax(excess))
            if excess[k] > best["delta_chi2"]:
                best = {"delta_chi2": float(excess[k]), "z": float(z[k]), "t": float(t[k] + width / 2),
                        "width": float(width)}
    return best


N_GENERIC_SEEDS = 11 * 7 * 16  # the generic (s, q, alpha) grid: the last rows of ``binary_seeds``


def binary_seeds(point: Mode, t_anomaly: float) -> np.ndarray:
    """Stage 3 grid of 2L1S starts ``(t0, log_tE, u0, alpha, log_s, log_q)`` seeded by the anomaly time.

    Planetary caustics sit near ``x = s - 1/s`` (Han 2006): for an anomaly at source
    distance ``u_a`` the wide/close solutions are ``s = (±u_a + sqrt(u_a^2 + 4))/2`` and the
    trajectory angle puts the source on the lens axis at that time. Central and
    resonant caustics (small ``u_a``) and stellar binaries get a generic grid
    (``N_GENERIC_SEEDS`` rows, last).
    """
    t0, log_te, u0 = point.theta[:3]
    te = np.exp(log_te)
    tau = (t_anomaly - t0) / te if np.isfinite(t_anomaly) else 0.0
    ua = np.hypot(tau, u0)
    seeds = []
    s_wide = (ua + np.sqrt(ua**2 + 4)) / 2
    base = -np.arctan2(u0, tau)
    for s in (s_wide, 1 / s_wide):
        for a0 in (base, base + np.pi):
            for da in (-0.15, 0.0, 0.15):
                for fs in (0.97, 1.0, 1.03):
                    for lq in np.linspace(-5.5, -1.5, 9):
                        seeds.append((t0, log_te, u0, a0 + da, np.log(s * fs), lq * np.log(10)))
    for ls in np.linspace(-0.6, 0.6, 11):
        for lq in np.linspace(-4.0, 0.0, 7):
            for a in np.linspace(0, 2 * np.pi, 16, endpoint=False):
                seeds.append((t0, log_te, u0, a, ls * np.log(10), lq * np.log(10)))
    return np.array(seeds)


def triple_seeds(binary: Mode, t_anomaly: float) -> np.ndarray:
    """3L1S starts ``binary.theta + (log_s13, log_q3, psi)`` for a third body seeded by a residual anomaly.

    The third body is placed as a planet whose planetary caustic lies near
    ``|r - e/r|`` from its host (Han 2006; ``r``: the planet's distance from the host,
    lengths in the total mass's Einstein radius, ``e``: the host's mass fraction), towards
    the planet for ``r > sqrt(e)`` and away from it otherwise. Two hosts are tried: lens 1
    (``e = 1/(1+q)``; a planet of one star of a wide binary, or of the lone star of a
    planetary system) and the 1-2 barycentre (``e = 1``; a planet outside a close
    binary). For the source at ``d = w(t_anomaly) - host`` the planet sits at
    ``r = (|d| + sqrt(|d|^2 + 4e))/2`` along ``d`` (wide) or ``e/r`` opposite (close);
    ``r`` scaled by 0.97 / 1 / 1.03 (the companion's shear moves the caustic), ``log q3``
    on a grid. A generic grid in ``(s13, psi, q3)`` covers central-caustic perturbations.
    """
    if binary.spec.model_type != "2L1S" or binary.spec.parallax or binary.spec.finite_source:
        raise ValueError(f"triple seeds need a point-source 2L1S mode without parallax, got {binary.spec.label}")
    p = {n: binary.value(n) for n in binary.spec.names}
    s, q = np.exp(p["log_s"]), np.exp(p["log_q"])
    z1 = -s * q / (1 + q)
    t_a = t_anomaly if np.isfinite(t_anomaly) else p["t0"]
    w = complex(mc.source_trajectory(t_a, p["t0"], np.exp(p["log_tE"]), p["u0"], p["alpha"]))
    out = []
    for host, e in ((z1, 1 / (1 + q)), (0.0, 1.0)):
        d = w - host
        r_wide = (abs(d) + np.sqrt(abs(d) ** 2 + 4 * e)) / 2
        for r, phi in ((r_wide, np.angle(d)), (e / r_wide, np.angle(d) + np.pi)):
            for dphi in (-0.1, 0.0, 0.1):
                for f in (0.97, 1.0, 1.03):
                    z3 = host + r * f * np.exp(1j * (phi + dphi))  # the planet; s13, psi are measured from lens 1
                    for lq in np.linspace(-5.5, -2.0, 8):
                        out.append((np.log(abs(z3 - z1)), lq * np.log(10), np.angle(z3 - z1)))
    for ls in np.linspace(-0.3, 0.3, 5):
        for lq in np.linspace(-5.0, -2.0, 4):
            for psi in np.linspace(0, 2 * np.pi, 12, endpoint=False):
                out.append((ls * np.log(10), lq * np.log(10), psi))
    return np.array([np.r_[binary.theta, x] for x in out])
