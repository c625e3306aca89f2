"""Stage 4: NUTS per mode with numpyro (Hoffman & Gelman 2014), preconditioned by the Fisher matrix at the mode.

The sampler moves ``z`` with ``y = y_mode + L z``, where ``L L^T = (H/2)^-1`` and ``H``
is the Hessian of ``-2 log p`` at the mode (Fisher preconditioning, DESIGN.md §5.2): the
posterior is close to a unit normal in ``z``, so warm-up is short. ``y`` are the fit
coordinates mapped from their bounds to the real line (``_to_fit``). Priors are uniform
in the fit coordinates (``t0``; ``ln tE, ln rho, ln s, ln q``; ``u0``; ``piEN, piEE``)
inside ``search.BOUNDS`` (``t0``: the data span +- 200 d), and uniform on the circle for
``alpha`` (one period centred on the mode). The likelihood is ``exp(-chi2/2)`` with
``(fs, fb)`` solved per dataset (DESIGN.md §4.6). Warm-up and sampling are one compiled
program per model, settings and bucket (``_nuts_program``): a later event of the same
bucket compiles nothing. A slow-mixing run can be continued (``run_nuts(extend=...)``).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
from numpyro.infer.hmc import hmc

from .models import LOG_PARAMS, ModelSpec
from .objective import FitData, _chi2, gauss_newton_function
from .search import Mode, _bounds

__all__ = ["SamplerSettings", "run_nuts", "Posterior", "fisher_scale", "sampler_frame", "fit_coordinates",
           "draw_progress"]


@dataclass(frozen=True)
class SamplerSettings:
    num_warmup: int = 300
    num_samples: int = 400
    num_chains: int = 2
    max_tree_depth: int = 6
    target_accept_prob: float = 0.85
    dense_mass: bool = True


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
    ``listener(i, z, num_steps, diverging)``.

    ``i`` counts a chain's transitions from 1 (chains one after another when sequential);
    ``z``: the whitened position (``fit_coordinates`` maps it back). The report is a host
    callback inside the compiled sampler, so such a program is compiled apart and is not
    kept in JAX's persistent compilation cache (JAX never stores programs with callbacks)."""
    _LISTENERS.append(listener)
    try:
        yield listener
    finally:
        _LISTENERS.remove(listener)


def _report(i, z, num_steps, diverging):
    i, num_steps, diverging = np.atleast_1d(i), np.atleast_1d(num_steps), np.atleast_1d(diverging)
    z = np.asarray(z).reshape(len(i), -1)
    for listener in list(_LISTENERS):
        for k in range(len(i)):
            listener(int(i[k]), z[k], int(num_steps[k]), bool(diverging[k]))


@lru_cache(maxsize=None)
def _nuts_program(spec: ModelSpec, settings: SamplerSettings, sequential: bool, extend: bool = False,
                  report: bool = False):
    """Warm-up and sampling of every chain as one compiled program per model, settings and data shape.

    numpyro's NUTS through its functional interface (``hmc(potential_fn_gen=..., algo="NUTS")``:
    its init and sample kernels, windowed step-size and dense mass adaptation) driven by
    ``lax.scan`` inside one ``jit`` whose arguments are the event's arrays: a later event of
    the same bucket reuses the compiled program (``MCMC.run`` builds new loop closures per
    call, so it re-traces and recompiles them for every event). Chains are ``vmap``-ed
    (numpyro's ``"vectorized"``), or run one after another when ``sequential`` (finite-source
    binary and triple models): a
    ``vmap`` would turn the finite-source tiers' branches into selects and run ICRS on
    every point. Returns the draws and each chain's final state; ``extend=True``: the
    program that continues those states (adapted step size and mass matrix, own random
    streams) for ``num_samples`` more draws without warm-up. ``report``: each transition
    goes to the ``draw_progress`` listeners.
    """
    gen = _potential_fn_gen(spec)
    z0 = jnp.zeros(len(spec.names))

    def chain(key, resume, args):
        init_kernel, sample_kernel = hmc(potential_fn_gen=gen, algo="NUTS")
        state = init_kernel(z0, settings.num_warmup, dense_mass=settings.dense_mass,
                            target_accept_prob=settings.target_accept_prob, max_tree_depth=settings.max_tree_depth,
                            model_args=args, rng_key=key)  # also sets the sample kernel's warm-up schedule
        if extend:  # past the warm-up: the kernel no longer adapts
            state = resume

        def step(s, _):  # the kernel adapts while its counter is below num_warmup
            s = sample_kernel(s, model_args=args)
            if report:
                jax.debug.callback(_report, s.i, s.z, s.num_steps, s.diverging)
            return s, (s.z, s.diverging, s.energy, s.num_steps)
        # one scan over warm-up and draws (as numpyro's fori_collect): the kernel, and the model's gradient
        # inside it, is compiled once, not once per phase
        skip = 0 if extend else settings.num_warmup
        final, out = jax.lax.scan(step, state, None, length=skip + settings.num_samples)
        return jax.tree_util.tree_map(lambda x: x[skip:], out), final

    def run(key, resume, *args):
        keys = jax.random.split(key, settings.num_chains)
        if sequential:
            return jax.lax.map(lambda kr: chain(kr[0], kr[1], args), (keys, resume))
        return jax.vmap(lambda k, r: chain(k, r, args))(keys, resume)
    return jax.jit(run)


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
    # MAX_SCALE sampler units, not 1/sqrt(tiny): NUTS's warm-up then adapts it
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
    lo, hi, centre, scale = frame
    y = centre + np.einsum("ij,...j->...i", scale, np.asarray(z))
    flat = jax.vmap(lambda v: _to_fit(spec, v, lo, hi)[0])(jnp.asarray(y.reshape(-1, y.shape[-1])))
    return np.asarray(flat).reshape(y.shape)


def run_nuts(mode: Mode, data: FitData, settings: SamplerSettings, *, seed: int = 0, sequential: bool = False,
             extend: "Posterior | None" = None, frame=None) -> Posterior:
    """NUTS for one mode; draws in physical parameters, diagnostics from numpyro's functions.

    ``extend``: a ``Posterior`` from ``run_nuts`` on the same mode and data: its chains go on
    from where they stopped (no new warm-up) for ``settings.num_samples`` more draws, and the
    result holds the old and new draws together (longer chains for a slow-mixing posterior,
    at the cost of the new draws alone). ``frame``: ``sampler_frame``'s result, if computed
    already (the Fisher matrix is the costly part for a finite-source binary)."""
    spec = mode.spec
    if extend is not None:
        lo, hi, centre, scale, key, resume, old = extend._chain_state
    else:
        lo, hi, centre, scale = frame if frame is not None else sampler_frame(mode, data, gauss_newton=sequential)
        key, resume, old = jax.random.PRNGKey(seed), None, None
    program = _nuts_program(spec, settings, sequential, extend is not None, bool(_LISTENERS))
    raw, final = program(key, resume, data, jnp.asarray(centre), jnp.asarray(scale), jnp.asarray(lo), jnp.asarray(hi))
    raw = [np.asarray(x) for x in raw]
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
    recorded = settings if old is None else replace(extend.settings, num_samples=z.shape[1])
    return Posterior(draws=draws, r_hat_max=float(np.nanmax(rhat)), ess_bulk_min=float(np.nanmin(ess)),
                     ess_tail_min=float(np.nanmin(tail)), n_divergences=int(diverging.sum()),
                     bfmi_min=float(np.min(_bfmi(energy))), settings=recorded, mean_steps=float(np.mean(num_steps)),
                     _chain_state=(lo, hi, centre, scale, key, final, raw))
