"""Stage 4: NUTS per mode with numpyro (Hoffman & Gelman 2014), preconditioned by the Fisher matrix at the mode.

The sampler moves ``z`` with ``y = y_mode + L z``, where ``L L^T = (H/2)^-1`` and ``H``
is the Hessian of ``-2 log p`` at the mode (Fisher preconditioning, DESIGN.md §5.2): the
posterior is close to a unit normal in ``z``, so warm-up is short. ``y`` are the fit
coordinates mapped from their bounds to the real line (``_to_fit``). Priors are uniform
in the fit coordinates (``t0``; ``ln tE, ln rho, ln s, ln q``; ``u0``; ``piEN, piEE``)
inside ``search.BOUNDS`` (``t0``: the data span +- 200 d), and uniform on the circle for
``alpha`` (one period centred on the mode). The likelihood is ``exp(-chi2/2)`` with
``(fs, fb)`` solved per dataset (DESIGN.md §4.6). Warm-up and sampling run as chunks of one
compiled program per model, settings and bucket (``_nuts_programs``): a later event of the
same bucket compiles nothing, progress is reported between chunks, and a deadline stops the
chains there. A slow-mixing run can be continued (``run_nuts(extend=...)``).
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
from scipy.special import expit
from numpyro.infer.hmc import hmc

from .models import LOG_PARAMS, ModelSpec
from .objective import FitData, _chi2, gauss_newton_function
from .search import Mode, _bounds

__all__ = ["SamplerSettings", "run_nuts", "Posterior", "fisher_scale", "sampler_frame", "fit_coordinates",
           "draw_progress", "SamplingBudgetExceeded"]


@dataclass(frozen=True)
class SamplerSettings:
    num_warmup: int = 300
    num_samples: int = 400
    num_chains: int = 2
    max_tree_depth: int = 6
    target_accept_prob: float = 0.85
    dense_mass: bool = True  # the mass matrix's form where it is adapted
    # adapt the mass matrix in warm-up (numpyro's windowed estimate)? Off by default: the sampler's coordinates
    # are already whitened by the Fisher matrix at the mode, and a 150-step warm-up leaves numpyro one
    # 25-draw window to estimate a dense matrix from, which made trajectories longer, not shorter
    # (benchmarks/RESULTS.md: 20-30% fewer leapfrog steps per draw and equal or higher ESS without it)
    adapt_mass_matrix: bool = False
    chunk: int = 20  # transitions per compiled call: the granularity of progress reports and of a deadline


@dataclass
class Posterior:
    """Draws of the physical parameters (``(chains, draws)`` each) and diagnostics."""

    draws: dict
    r_hat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    n_divergences: int
    bfmi_min: float
    settings: SamplerSettings = None
    mean_steps: float = float("nan")  # leapfrog steps per draw (2**tree_depth - 1 at most)
    stopped: str = ""  # why the chains are shorter than asked (a deadline), else ""
    _chain_state: tuple = field(default=None, repr=False)  # what ``run_nuts(extend=...)`` continues from


U0_FLOOR = 1e-6  # smallest |u0| NUTS may reach when it moves ln|u0|


def _log_u0_index(spec: ModelSpec):
    """Index of ``u0`` when NUTS moves ``ln|u0|`` instead (1L1S without parallax: the sign is not measured).

    A blended single lens has a curved ``u0``-``ln tE`` ridge that is straight in
    ``(ln tE, ln u0)`` (measured on the seed-12 test event: a quadratic term removes 41% of
    the scatter about a linear fit in ``u0``, 0.2% in ``ln u0``), so the linear Fisher
    preconditioning whitens it. The prior stays uniform in ``u0`` (Jacobian ``u0``)."""
    return spec.names.index("u0") if spec.model_type == "1L1S" and not spec.parallax else None


def _boxed(spec: ModelSpec) -> np.ndarray:
    """Coordinates mapped from their bounds to the real line (all but ``alpha``, which is periodic)."""
    return np.array([name != "alpha" for name in spec.names])


def _to_fit(spec: ModelSpec, y, lo, hi):
    """Sampler coordinates ``y`` -> (fit coordinates, ln |d theta / d y|).

    Bounded coordinates ``v = lo + (hi - lo) sigmoid(y)`` (numpyro's transform for a
    uniform prior on an interval: no wall for NUTS to hit, so a weak event whose posterior
    reaches a bound does not diverge there); ``u0 = exp(v)`` for ``_log_u0_index``.
    ``lo, hi`` are in ``v`` (``ln|u0|`` for that index). Priors stay uniform in the fit
    coordinates: the potential subtracts ``ln|J|``."""
    box = _boxed(spec)
    v = jnp.where(box, lo + (hi - lo) * jax.nn.sigmoid(y), y)
    log_jac = jnp.sum(jnp.where(box, jnp.log(hi - lo) - jax.nn.softplus(-y) - jax.nn.softplus(y), 0.0))
    k = _log_u0_index(spec)
    if k is None:
        return v, log_jac
    return v.at[k].set(jnp.exp(v[k])), log_jac + v[k]


def _to_sampler(spec: ModelSpec, theta, lo, hi):
    """Fit coordinates -> sampler coordinates (a point on a bound moved 1e-9 of the interval inside)."""
    v = np.array(theta, float)
    k = _log_u0_index(spec)
    if k is not None:
        v[k] = np.log(max(abs(v[k]), U0_FLOOR))
    frac = np.clip((v - lo) / (hi - lo), 1e-9, 1 - 1e-9)
    return np.where(_boxed(spec), np.log(frac) - np.log1p(-frac), v)


def _potential_fn_gen(spec: ModelSpec):
    """numpyro's ``potential_fn_gen``: ``-log p(z | data) = chi^2 / 2 - ln|J|`` in the whitened coordinates ``z``.

    Its gradient is reverse mode for every model (finite-source binaries too, since the
    multipole tier's derivatives are taken in the image plane: 0.34 s per gradient on 553
    points of a caustic crossing, benchmarks/RESULTS.md)."""
    def gen(data: FitData, centre, scale, lo, hi):
        def potential(z):
            y = centre + scale @ z
            theta, log_jac = _to_fit(spec, y, lo, hi)
            chi2 = _chi2(spec, theta, data)
            inside = jnp.all(_boxed(spec) | ((y >= lo) & (y <= hi)))  # alpha: one period about the mode
            return jnp.where(inside & jnp.isfinite(chi2), 0.5 * chi2 - log_jac, jnp.inf)
        return potential
    return gen


_LISTENERS: list = []


@contextmanager
def draw_progress(listener):
    """Within the block, samplers report every transition (warm-up included) to
    ``listener(chain, i, z, num_steps, diverging)``.

    ``chain`` counts from 0, ``i`` a chain's transitions from 1; ``z``: the whitened position
    (``fit_coordinates`` maps it back). Reported from the host after each chunk of
    ``SamplerSettings.chunk`` transitions (chains in turn), so the compiled sampler is the
    same with or without a listener."""
    _LISTENERS.append(listener)
    try:
        yield listener
    finally:
        _LISTENERS.remove(listener)


class SamplingBudgetExceeded(RuntimeError):
    """``run_nuts``'s deadline passed before the warm-up ended: no draws to return."""


@lru_cache(maxsize=None)
def _nuts_programs(spec: ModelSpec, settings: SamplerSettings, sequential: bool):
    """``(init, chunk)``: numpyro's NUTS kernels (``hmc(potential_fn_gen=..., algo="NUTS")``: step-size adaptation,
    and windowed mass adaptation if ``settings.adapt_mass_matrix``) compiled once per model, settings and data shape.

    ``init(keys, args)`` starts every chain; ``chunk(states, args, n)`` advances each by ``n <=
    settings.chunk`` transitions (a ``lax.scan`` of ``settings.chunk`` steps, the steps past
    ``n`` skipped by an unbatched ``lax.cond``) and returns the new states and the chunk's
    ``(z, diverging, energy, num_steps)``. The kernel adapts while a state's counter is below
    ``num_warmup``, so chunks continue warm-up and sampling exactly as one long scan would
    (numpyro's ``fori_collect`` works the same way). A later event of the same bucket reuses
    both programs (``MCMC.run`` builds new closures per call and recompiles). Chains are
    ``vmap``-ed (numpyro's ``"vectorized"``); ``sequential`` (finite-source binary and triple
    models) compiles one chain and the caller runs the chains in turn, since a ``vmap`` would
    turn the finite-source tiers' branches into selects and run ICRS on every point.
    """
    init_kernel, sample_kernel = hmc(potential_fn_gen=_potential_fn_gen(spec), algo="NUTS")
    z0 = jnp.zeros(len(spec.names))

    def init(key, args):  # also sets the sample kernel's warm-up schedule
        return init_kernel(z0, settings.num_warmup, dense_mass=settings.dense_mass,
                           adapt_mass_matrix=settings.adapt_mass_matrix,
                           target_accept_prob=settings.target_accept_prob, max_tree_depth=settings.max_tree_depth,
                           model_args=args, rng_key=key)

    def chunk(state, args, n):
        def step(s, j):
            s = jax.lax.cond(j < n, lambda v: sample_kernel(v, model_args=args), lambda v: v, s)
            return s, (s.z, s.diverging, s.energy, s.num_steps)
        return jax.lax.scan(step, state, jnp.arange(settings.chunk))

    if sequential:
        return jax.jit(init), jax.jit(chunk)
    return jax.jit(jax.vmap(init, in_axes=(0, None))), jax.jit(jax.vmap(chunk, in_axes=(0, None, None)))


def _run_chains(spec, settings, sequential, key, states, args, length, deadline, first):
    """Advance the chains ``length`` transitions in chunks (chains in turn when ``sequential``); report each
    chunk to the ``draw_progress`` listeners; stop after the chunk in which ``deadline`` (``time.monotonic``)
    passes. Returns the states and ``(z, diverging, energy, num_steps)`` as ``(chains, done)`` arrays."""
    init, chunk = _nuts_programs(spec, settings, sequential)
    if states is None:
        keys = jax.random.split(key, settings.num_chains)
        states = [init(k, args) for k in keys] if sequential else init(keys, args)
    parts, done = [], 0
    while done < length and (deadline is None or done == 0 or time.monotonic() < deadline):
        n = min(settings.chunk, length - done)
        if sequential:
            out = [chunk(s, args, n) for s in states]
            states = [o[0] for o in out]
            part = [np.stack([np.asarray(o[1][k]) for o in out]) for k in range(4)]
        else:
            states, raw = chunk(states, args, n)
            part = [np.asarray(x) for x in raw]
        part = [x[:, :n] for x in part]
        for listener in list(_LISTENERS):
            for c in range(part[0].shape[0]):
                for j in range(n):
                    listener(c, first + done + j + 1, part[0][c, j], int(part[3][c, j]), bool(part[1][c, j]))
        parts.append(part)
        done += n
    return states, [np.concatenate([p[k] for p in parts], axis=1) for k in range(4)]


@lru_cache(maxsize=None)
def _hessian_function(spec: ModelSpec):
    """Hessian of ``chi^2 - 2 ln|J|`` in the sampler coordinates."""
    def f(y, data, lo, hi):
        theta, log_jac = _to_fit(spec, y, lo, hi)
        return _chi2(spec, theta, data) - 2.0 * log_jac
    return jax.jit(jax.hessian(f))


MAX_SCALE = 2.0  # widest Laplace sigma allowed in sampler coordinates (days, ln tE, logit ..., rad)


def fisher_scale(mode: Mode, data: FitData, y, lo, hi, *, gauss_newton: bool = False):
    """``L`` with ``L L^T`` = the Laplace covariance ``(H/2)^-1`` at the mode ``y`` (sampler coordinates).

    ``H``: the Hessian of ``chi^2 - 2 ln|J|``; ``gauss_newton=True`` (finite-source binary/triple):
    the Gauss-Newton Fisher matrix ``2 J^T J`` from sequential JVPs (positive semi-definite;
    equal to the chi^2 Hessian at a mode that fits the data), carried to ``y`` by the
    coordinates' Jacobian. Eigenvalues are floored at ``1 / MAX_SCALE**2``."""
    y, lo, hi = jnp.asarray(y), jnp.asarray(lo), jnp.asarray(hi)
    if gauss_newton:
        d = jax.jacfwd(lambda v: _to_fit(mode.spec, v, lo, hi)[0])(y)
        h = d.T @ gauss_newton_function(mode.spec)(jnp.asarray(mode.theta), data) @ d
    else:
        h = _hessian_function(mode.spec)(y, data, lo, hi)
    h = 0.5 * (np.asarray(h) + np.asarray(h).T) / 2.0
    lam, vec = np.linalg.eigh(h)
    if not np.all(np.isfinite(lam)):
        raise FloatingPointError("the chi^2 Hessian at the mode is not finite")
    # a direction the data do not constrain (e.g. ln q of an undetectable planet) gets a width of
    # MAX_SCALE sampler units, not 1/sqrt(tiny) (about the width a uniform prior has in its logistic coordinate)
    lam = np.maximum(lam, 1.0 / MAX_SCALE**2)
    return vec / np.sqrt(lam)


def _tail_ess(x):
    lo, hi = np.quantile(x, [0.05, 0.95])
    return min(float(effective_sample_size((x <= lo).astype(float))), float(effective_sample_size((x >= hi).astype(float))))


def _bfmi(energy):
    e = np.asarray(energy)
    return np.sum(np.diff(e, axis=1) ** 2, axis=1) / np.sum((e - e.mean(axis=1, keepdims=True)) ** 2, axis=1) * (
        e.shape[1] / (e.shape[1] - 1))


def sampler_frame(mode: Mode, data: FitData, *, gauss_newton: bool = False):
    """``(lo, hi, centre, scale)``: the sampler's bounds, the mode and ``L`` (``fisher_scale``) in its coordinates."""
    spec = mode.spec
    bounds = np.array(_bounds(spec, data))
    lo, hi = bounds[:, 0].copy(), bounds[:, 1].copy()
    if "alpha" in spec.names:  # alpha: one period about the mode (uniform on the circle)
        k = spec.names.index("alpha")
        lo[k], hi[k] = mode.theta[k] - np.pi, mode.theta[k] + np.pi
    k = _log_u0_index(spec)
    if k is not None:
        lo[k], hi[k] = np.log(U0_FLOOR), np.log(hi[k])
    centre = _to_sampler(spec, mode.theta, lo, hi)
    return lo, hi, centre, np.asarray(fisher_scale(mode, data, centre, lo, hi, gauss_newton=gauss_newton))


def fit_coordinates(spec: ModelSpec, frame, z) -> np.ndarray:
    """Whitened sampler positions ``z (..., k)`` -> fit coordinates ``(..., k)`` (``ln tE``, ``ln rho``, ...)."""
    lo, hi, centre, scale = (np.asarray(a, float) for a in frame)
    y = centre + np.einsum("ij,...j->...i", scale, np.asarray(z))
    # ``_to_fit`` in NumPy: JAX's op-by-op dispatch would compile every primitive again for each new
    # number of draws (35 XLA compilations in a fit whose chains were continued)
    v = np.where(_boxed(spec), lo + (hi - lo) * expit(y), y)
    k = _log_u0_index(spec)
    if k is not None:
        v[..., k] = np.exp(v[..., k])
    return v


def run_nuts(mode: Mode, data: FitData, settings: SamplerSettings, *, seed: int = 0, sequential: bool = False,
             extend: "Posterior | None" = None, frame=None, deadline: float | None = None) -> Posterior:
    """NUTS for one mode; draws in physical parameters, diagnostics from numpyro's functions.

    ``extend``: a ``Posterior`` from ``run_nuts`` on the same mode and data: its chains go on
    from where they stopped (no new warm-up) for ``settings.num_samples`` more draws, and the
    result holds the old and new draws together (longer chains for a slow-mixing posterior,
    at the cost of the new draws alone). ``frame``: ``sampler_frame``'s result, if computed
    already (the Fisher matrix is the costly part for a finite-source binary). ``deadline``
    (``time.monotonic()`` seconds): checked after each chunk of transitions; past it, the
    chains stop and the draws so far are returned with ``stopped`` saying so, or, still in
    warm-up (or fewer than 4 draws), ``SamplingBudgetExceeded`` is raised."""
    spec = mode.spec
    if extend is not None:  # the programs the chains ran with (their settings), for the draws asked now
        lo, hi, centre, scale, key, resume, old, run_settings = extend._chain_state
        length, skip = settings.num_samples, 0
        first, asked = run_settings.num_warmup + old[0].shape[1], old[0].shape[1] + settings.num_samples
    else:
        gauss_newton = sequential and spec.model_type != "1L1S"
        lo, hi, centre, scale = frame if frame is not None else sampler_frame(mode, data, gauss_newton=gauss_newton)
        key, resume, old, run_settings = jax.random.PRNGKey(seed), None, None, settings
        length, skip, first, asked = settings.num_warmup + settings.num_samples, settings.num_warmup, 0, settings.num_samples
    args = (data, jnp.asarray(centre), jnp.asarray(scale), jnp.asarray(lo), jnp.asarray(hi))
    final, raw = _run_chains(spec, run_settings, sequential, key, resume, args, length, deadline, first)
    done = raw[0].shape[1]
    if done - skip < 4:
        raise SamplingBudgetExceeded(f"sampling deadline passed in the warm-up ({done} of {run_settings.num_warmup} "
                                     "transitions per chain): no draws")
    raw = [x[:, skip:] for x in raw]
    if old is not None:
        raw = [np.concatenate([a, b], axis=1) for a, b in zip(old, raw)]
    z, diverging, energy, num_steps = raw
    theta = fit_coordinates(spec, (lo, hi, centre, scale), z)
    draws, rhat, ess, tail = {}, [], [], []
    for k, name in enumerate(spec.names):
        x = theta[..., k]
        rhat.append(float(split_gelman_rubin(x)))
        ess.append(float(effective_sample_size(x)))
        tail.append(_tail_ess(x))
        draws[LOG_PARAMS.get(name, name)] = np.exp(x) if name in LOG_PARAMS else x
    stopped = f"sampling deadline reached: {z.shape[1]} of {asked} draws per chain" if done < length else ""
    return Posterior(draws=draws, r_hat_max=float(np.nanmax(rhat)), ess_bulk_min=float(np.nanmin(ess)),
                     ess_tail_min=float(np.nanmin(tail)), n_divergences=int(diverging.sum()),
                     bfmi_min=float(np.min(_bfmi(energy))), settings=replace(run_settings, num_samples=z.shape[1]),
                     mean_steps=float(np.mean(num_steps)), stopped=stopped,
                     _chain_state=(lo, hi, centre, scale, key, final, raw, run_settings))
