"""Stage 4: NUTS per mode with numpyro (Hoffman & Gelman 2014), preconditioned by the Fisher matrix at the mode.

The sampler moves ``z`` with ``theta = mode + L z``, where ``L L^T = (H/2)^-1`` and ``H``
is the Hessian of chi^2 at the mode (Fisher preconditioning, DESIGN.md §5.2): the
posterior is close to a unit normal in ``z``, so warm-up is short. Priors are uniform
in the fit coordinates (``t0``; ``ln tE, ln rho, ln s, ln q``; ``u0``; ``piEN, piEE``)
inside ``search.BOUNDS`` (``t0``: the data span +- 200 d), and uniform on the circle for
``alpha`` (one period centred on the mode). The likelihood is ``exp(-chi2/2)`` with
``(fs, fb)`` solved per dataset (DESIGN.md §4.6). The sampler is numpyro's NUTS through its
functional interface, compiled once per model, settings and bucket (``_nuts_program``), so
later events of the same bucket do not recompile.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
from numpyro.infer.hmc import hmc

from .models import LOG_PARAMS, ModelSpec
from .objective import FitData, _chi2
from .search import Mode, _bounds

__all__ = ["SamplerSettings", "run_nuts", "Posterior", "fisher_scale"]


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


def _potential_fn_gen(spec: ModelSpec):
    """numpyro's ``potential_fn_gen``: ``-log p(z | data)`` for the whitened coordinates ``z``."""
    def gen(data: FitData, centre, scale, lo, hi):
        def potential(z):
            theta = centre + scale @ z
            chi2 = _chi2(spec, theta, data)
            inside = jnp.all((theta >= lo) & (theta <= hi))
            return jnp.where(inside & jnp.isfinite(chi2), 0.5 * chi2, jnp.inf)
        return potential
    return gen


@lru_cache(maxsize=None)
def _nuts_program(spec: ModelSpec, settings: SamplerSettings, forward: bool, shape: tuple = ()):
    """One compiled program per model, settings and data shape: warm-up and sampling of every chain.

    numpyro's functional NUTS (``numpyro.infer.hmc.hmc(potential_fn_gen=..., algo="NUTS")``:
    init and sample kernels with windowed step-size and dense mass adaptation) driven by
    ``lax.scan`` inside one ``jit`` whose arguments are the event's arrays, so a later event
    of the same bucket reuses the compiled program (``MCMC.run`` re-traces its loops per call).
    Chains are ``vmap``-ed (numpyro's ``chain_method="vectorized"``).
    """
    k = len(spec.names)
    gen = _potential_fn_gen(spec)

    def chain(key, args):
        init_kernel, sample_kernel = hmc(potential_fn_gen=gen, algo="NUTS")
        state = init_kernel(jnp.zeros(k), settings.num_warmup, dense_mass=settings.dense_mass,
                            target_accept_prob=settings.target_accept_prob, max_tree_depth=settings.max_tree_depth,
                            forward_mode_differentiation=forward, model_args=args, rng_key=key)

        def step(s, _):
            s = sample_kernel(s, model_args=args)
            return s, (s.z, s.diverging, s.energy, s.num_steps)
        state, _ = jax.lax.scan(step, state, None, length=settings.num_warmup)
        return jax.lax.scan(step, state, None, length=settings.num_samples)[1]

    def run(key, data, centre, scale, lo, hi):
        keys = jax.random.split(key, settings.num_chains)
        return jax.vmap(lambda kk: chain(kk, (data, centre, scale, lo, hi)))(keys)
    return jax.jit(run)


@lru_cache(maxsize=None)
def _hessian_function(spec: ModelSpec, forward: bool):
    f = lambda th, data: _chi2(spec, th, data)  # noqa: E731
    return jax.jit(jax.jacfwd(jax.jacfwd(f)) if forward else jax.hessian(f))


def fisher_scale(mode: Mode, data: FitData, *, forward: bool = False):
    """``L`` with ``L L^T`` = the Laplace covariance ``(H/2)^-1`` at the mode (eigenvalues floored)."""
    h = np.asarray(_hessian_function(mode.spec, forward)(jnp.asarray(mode.theta), data))
    h = 0.5 * (h + h.T) / 2.0
    lam, vec = np.linalg.eigh(h)
    if not np.all(np.isfinite(lam)):
        raise FloatingPointError("the chi^2 Hessian at the mode is not finite")
    lam = np.maximum(lam, 1e-6 * max(lam.max(), 1e-12) + 1e-12)
    return vec / np.sqrt(lam)


def _tail_ess(x):
    lo, hi = np.quantile(x, [0.05, 0.95])
    return min(float(effective_sample_size((x <= lo).astype(float))), float(effective_sample_size((x >= hi).astype(float))))


def _bfmi(energy):
    e = np.asarray(energy)
    return np.sum(np.diff(e, axis=1) ** 2, axis=1) / np.sum((e - e.mean(axis=1, keepdims=True)) ** 2, axis=1) * (
        e.shape[1] / (e.shape[1] - 1))


def run_nuts(mode: Mode, data: FitData, settings: SamplerSettings, *, seed: int = 0, forward: bool = False) -> Posterior:
    """NUTS for one mode; draws in physical parameters, diagnostics from numpyro's functions."""
    spec = mode.spec
    bounds = np.array(_bounds(spec, data))
    lo, hi = bounds[:, 0].copy(), bounds[:, 1].copy()
    if "alpha" in spec.names:  # alpha: one period about the mode (uniform on the circle)
        k = spec.names.index("alpha")
        lo[k], hi[k] = mode.theta[k] - np.pi, mode.theta[k] + np.pi
    scale = fisher_scale(mode, data, forward=forward)
    program = _nuts_program(spec, settings, forward, tuple(data.t.shape))
    z, diverging, energy, num_steps = program(jax.random.PRNGKey(seed), data, jnp.asarray(mode.theta),
                                              jnp.asarray(scale), jnp.asarray(lo), jnp.asarray(hi))
    theta = np.asarray(mode.theta)[None, None, :] + np.einsum("ij,cdj->cdi", scale, np.asarray(z))  # (chains, draws, k)
    extra = {"diverging": np.asarray(diverging), "energy": np.asarray(energy), "num_steps": np.asarray(num_steps)}
    draws, rhat, ess, tail = {}, [], [], []
    for k, name in enumerate(spec.names):
        x = theta[..., k]
        rhat.append(float(split_gelman_rubin(x)))
        ess.append(float(effective_sample_size(x)))
        tail.append(_tail_ess(x))
        draws[LOG_PARAMS.get(name, name)] = np.exp(x) if name in LOG_PARAMS else x
    return Posterior(draws=draws, r_hat_max=float(np.nanmax(rhat)), ess_bulk_min=float(np.nanmin(ess)),
                     ess_tail_min=float(np.nanmin(tail)), n_divergences=int(np.asarray(extra["diverging"]).sum()),
                     bfmi_min=float(np.min(_bfmi(extra["energy"]))), settings=settings,
                     mean_steps=float(np.mean(extra["num_steps"])))
