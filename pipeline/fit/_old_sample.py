"""Stage 4: NUTS per mode with numpyro (Hoffman & Gelman 2014), preconditioned by the Fisher matrix at the mode.

The sampler moves ``z`` with ``theta = mode + L z``, where ``L L^T = (H/2)^-1`` and ``H``
is the Hessian of chi^2 at the mode (Fisher preconditioning, DESIGN.md §5.2): the
posterior is close to a unit normal in ``z``, so warm-up is short. Priors are uniform
in the fit coordinates (``t0``; ``ln tE, ln rho, ln s, ln q``; ``u0``; ``piEN, piEE``)
inside ``search.BOUNDS`` (``t0``: the data span +- 200 d), and uniform on the circle for
``alpha`` (one period centred on the mode). The likelihood is ``exp(-chi2/2)`` with
``(fs, fb)`` solved per dataset (DESIGN.md §4.6). One ``MCMC`` object is kept per model
and settings and re-run with new arrays (``jit_model_args``), so later events of the
same bucket reuse the compiled model; numpyro still re-traces its two sampling loops per
run (2 XLA compilations per later event).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
from numpyro.infer import MCMC, NUTS

from .models import LOG_PARAMS, ModelSpec
from .objective import FitData, _chi2, gauss_newton_function, with_sequential_jvp
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


def _event_model(spec: ModelSpec, forward: bool, data: FitData, centre, scale, lo, hi):
    z = numpyro.sample("z", dist.ImproperUniform(dist.constraints.real_vector, (), (len(spec.names),)))
    theta = centre + scale @ z
    numpyro.deterministic("theta", theta)
    chi2 = with_sequential_jvp(spec)(theta, data) if forward else _chi2(spec, theta, data)
    inside = jnp.all((theta >= lo) & (theta <= hi))
    numpyro.factor("likelihood", jnp.where(inside & jnp.isfinite(chi2), -0.5 * chi2, -jnp.inf))


@lru_cache(maxsize=None)
def _mcmc(spec: ModelSpec, settings: SamplerSettings, forward: bool, shape: tuple = ()):
    """One MCMC object per model, settings and data shape (numpyro cannot re-run one on another shape).

    ``forward``: the gradient comes from sequential JVPs (``with_sequential_jvp``) and the
    chains run one after another: vectorised chains would ``vmap`` the finite-source
    tiers and run ICRS on every point.
    """
    kernel = NUTS(lambda *args, spec=spec, forward=forward: _event_model(spec, forward, *args),
                  dense_mass=settings.dense_mass, max_tree_depth=settings.max_tree_depth,
                  target_accept_prob=settings.target_accept_prob)
    return MCMC(kernel, num_warmup=settings.num_warmup, num_samples=settings.num_samples,
                num_chains=settings.num_chains, chain_method="sequential" if forward else "vectorized",
                progress_bar=False, jit_model_args=True)


MAX_SCALE = 2.0  # widest Laplace sigma allowed in fit coordinates (days, ln tE, u0, rad, ln s, ln q ...)


def fisher_scale(mode: Mode, data: FitData, *, forward: bool = False):
    """``L`` with ``L L^T`` = the Laplace covariance ``(H/2)^-1`` at the mode (eigenvalues floored).

    ``H``: the chi^2 Hessian; ``forward=True`` (finite-source binary/triple): the
    Gauss-Newton Fisher matrix ``2 J^T J`` from sequential JVPs (positive
    semi-definite; equal to ``H`` at a mode that fits the data)."""
    if forward:
        h = gauss_newton_function(mode.spec)(jnp.asarray(mode.theta), data)
    else:
        h = jax.hessian(lambda th: _chi2(mode.spec, th, data))(jnp.asarray(mode.theta))
    h = 0.5 * (np.asarray(h) + np.asarray(h).T) / 2.0
    lam, vec = np.linalg.eigh(h)
    if not np.all(np.isfinite(lam)):
        raise FloatingPointError("the chi^2 Hessian at the mode is not finite")
    # a direction the data do not constrain (e.g. ln q of an undetectable planet) gets a width of
    # MAX_SCALE fit units, not 1/sqrt(tiny): NUTS's warm-up then adapts it instead of stepping off the bounds
    lam = np.maximum(lam, 1.0 / MAX_SCALE**2)
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
    mcmc = _mcmc(spec, settings, forward, tuple(data.t.shape))
    init = {"z": jnp.zeros((settings.num_chains, len(spec.names)))}
    mcmc.run(jax.random.PRNGKey(seed), data, jnp.asarray(mode.theta), jnp.asarray(scale), jnp.asarray(lo),
             jnp.asarray(hi), init_params=init, extra_fields=("diverging", "energy", "num_steps"))
    theta = np.asarray(mcmc.get_samples(group_by_chain=True)["theta"])  # (chains, draws, k)
    extra = mcmc.get_extra_fields(group_by_chain=True)
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
