"""Gaussian likelihood of a light curve with the source and blend fluxes solved analytically (DESIGN.md §4.6).

For one dataset the model flux ``F = fs A + fb`` is linear in ``(fs, fb)``. We either
profile them (weighted least squares: the chi^2 minimum over ``fs, fb``) or marginalise
them under independent Gaussian priors ``N(0, prior_sigma^2)``, which adds the
``-1/2 log det`` term of the 2x2 normal matrix (e.g. Kains et al. 2009 for the
profiled form; the marginal is the standard linear-Gaussian integral).

Every function takes one dataset as padded arrays and a boolean ``mask`` (True = real
point), so shapes stay static; all are differentiable in ``A``.
"""
from __future__ import annotations

import jax.numpy as jnp

__all__ = ["normal_matrix", "solve_fluxes", "chi2_profiled", "log_likelihood_marginal"]


def normal_matrix(magnification, flux, flux_err, mask):
    """``(M, b, c)``: the 2x2 normal matrix, right-hand side and ``sum f^2/s^2`` of one dataset."""
    wgt = jnp.where(mask, 1.0 / flux_err**2, 0.0)
    a = jnp.where(mask, magnification, 0.0)
    f = jnp.where(mask, flux, 0.0)
    m = jnp.array([[jnp.sum(wgt * a * a), jnp.sum(wgt * a)], [jnp.sum(wgt * a), jnp.sum(wgt)]])
    b = jnp.array([jnp.sum(wgt * a * f), jnp.sum(wgt * f)])
    return m, b, jnp.sum(wgt * f * f)


def _safe_ratio(num, den):
    ok = den > 0.0
    return jnp.where(ok, num / jnp.where(ok, den, 1.0), 0.0)


def _profile(magnification, flux, flux_err, mask, fb_min):
    """``(fs, fb, chi2)`` minimising chi^2, with ``fb >= fb_min`` (``-inf``: no bound).

    The free solution is solved in variables centred on the weighted means: the same
    least-squares problem as the 2x2 normal equations, but finite when ``A`` is constant
    over the dataset (then ``fs = 0`` and ``fb`` is the mean flux) and without lost digits
    when ``A`` is close to 1. Where it has ``fb < fb_min`` the bound is active and ``fs``
    is the one-parameter fit of ``flux - fb_min`` by ``fs A`` (constrained least squares:
    chi^2 stays continuous across the bound).
    """
    wgt = jnp.where(mask, 1.0 / flux_err**2, 0.0)
    a = jnp.where(mask, magnification, 0.0)
    f = jnp.where(mask, flux, 0.0)
    w_sum = jnp.sum(wgt)
    a_bar, f_bar = jnp.sum(wgt * a) / w_sum, jnp.sum(wgt * f) / w_sum
    da, df = jnp.where(mask, a - a_bar, 0.0), jnp.where(mask, f - f_bar, 0.0)
    s_aa, s_af = jnp.sum(wgt * da * da), jnp.sum(wgt * da * df)
    fs = _safe_ratio(s_af, s_aa)
    fb = f_bar - fs * a_bar
    chi2 = jnp.sum(wgt * df * df) - _safe_ratio(s_af * s_af, s_aa)
    bounded = jnp.isfinite(fb_min)
    floor = jnp.where(bounded, fb_min, 0.0)
    g = jnp.where(mask, f - floor, 0.0)
    w_aa, w_ag = jnp.sum(wgt * a * a), jnp.sum(wgt * a * g)
    fs_c = _safe_ratio(w_ag, w_aa)
    chi2_c = jnp.sum(wgt * g * g) - _safe_ratio(w_ag * w_ag, w_aa)
    active = bounded & (fb < floor)
    return jnp.where(active, fs_c, fs), jnp.where(active, floor, fb), jnp.where(active, chi2_c, chi2)


def solve_fluxes(magnification, flux, flux_err, mask, fb_min=-jnp.inf):
    """Weighted least-squares ``(fs, fb)`` for ``flux ~ fs A + fb`` with ``fb >= fb_min``.

    ``fs = 0`` when ``A`` is constant. ``fb_min = 0`` is the physical bound for fluxes on
    an absolute scale (the blend cannot be negative); leave it ``-inf`` for difference fluxes.
    """
    fs, fb, _ = _profile(magnification, flux, flux_err, mask, fb_min)
    return fs, fb


def chi2_profiled(magnification, flux, flux_err, mask, fb_min=-jnp.inf):
    """``min over (fs, fb >= fb_min)`` of chi^2 (the profile likelihood is ``-chi2/2``)."""
    return _profile(magnification, flux, flux_err, mask, fb_min)[2]


def log_likelihood_marginal(magnification, flux, flux_err, mask, prior_sigma):
    """``log p(flux | A)`` with ``fs, fb ~ N(0, prior_sigma^2)`` integrated out analytically.

    ``-1/2 [c - b^T (M + P)^{-1} b] - 1/2 log det(I + M/P') - 1/2 sum log(2 pi s^2)``,
    where ``P = I/prior_sigma^2``. The prior must be broad (``prior_sigma`` several
    times the baseline flux) so it does not pull ``fs, fb``.
    """
    m, b, c = normal_matrix(magnification, flux, flux_err, mask)
    p = jnp.eye(2) / prior_sigma**2
    mp = m + p
    quad = c - b @ jnp.linalg.solve(mp, b)
    logdet = jnp.linalg.slogdet(mp)[1] + 2.0 * jnp.log(prior_sigma**2)
    norm = jnp.sum(jnp.where(mask, jnp.log(2 * jnp.pi * flux_err**2), 0.0))
    return -0.5 * (quad + logdet + norm)
