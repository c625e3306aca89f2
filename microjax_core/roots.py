"""Differentiable Ehrlich–Aberth polynomial root finder.

All roots of ``p(z) = sum_i c_i z**i`` are refined simultaneously (Ehrlich 1967;
Aberth 1973; Bini 1996 for the start and stopping rules):

    z_k <- z_k - r_k / (1 - r_k * sum_{j!=k} 1/(z_k - z_j)),   r_k = p(z_k)/p'(z_k).

Start: ``n`` points on a circle of the Fujiwara radius ``2 max_j |c_{n-j}/c_n|**(1/j)``
(which bounds every root), rotated off the real axis, or a caller's warm start.
Stop (per root, then frozen): the backward-error test ``|p(z_k)| <= 4 n eps
p~(|z_k|)`` with ``p~`` the polynomial of absolute coefficients (the root is then
exact for coefficients perturbed at rounding level, the best floating point can
certify), or a relative step below ``4 eps``. One Newton step polishes the
result. The iteration cap is static; ``converged`` reports whether every root
met the test before it.

Gradients come from the implicit function theorem, not from the iterations:
differentiating ``p(z_k; c) = 0`` gives ``dz_k = -(sum_i dc_i z_k**i) / p'(z_k)``,
exact at a simple root and independent of the iteration count. A root with
``p'(z_k) = 0`` (a double root: the source on a caustic) gets a zero tangent
rather than inf/NaN, with the unsafe division sanitised on both branches.
"""
from __future__ import annotations

import functools
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["RootResult", "polynomial_roots", "initial_guess"]


class RootResult(NamedTuple):
    roots: jax.Array  # complex (n,)
    converged: jax.Array  # bool scalar: every root met the stopping test


def _horner(c, z):
    """p(z) and p'(z) for ascending coefficients ``c`` at points ``z``."""
    p = jnp.zeros_like(z) + c[-1]
    dp = jnp.zeros_like(z)
    for i in range(c.shape[0] - 2, -1, -1):
        dp = dp * z + p
        p = p * z + c[i]
    return p, dp


def _safe_lead(c):
    """Leading coefficient kept away from zero (the source on a lens sends a root to infinity)."""
    lead = c[-1]
    floor = jnp.finfo(jnp.abs(lead).dtype).eps * jnp.max(jnp.abs(c))
    small = jnp.abs(lead) <= floor
    return jnp.where(small, floor + 0j, lead)


def initial_guess(c):
    """Ehrlich–Aberth start: roots on the Fujiwara circle, rotated off the real axis."""
    n = c.shape[0] - 1
    lead = _safe_lead(c)
    ratios = jnp.abs(c[:-1] / lead)  # |c_i / c_n|, i = 0..n-1
    powers = 1.0 / jnp.arange(n, 0, -1, dtype=ratios.dtype)  # 1/(n-i)
    bound = 2.0 * jnp.max(ratios**powers)
    bound = jnp.where(jnp.isfinite(bound) & (bound > 0), bound, 1.0)
    angles = 2 * np.pi * np.arange(n) / n + 0.4
    return bound * jnp.exp(1j * jnp.asarray(angles, dtype=ratios.dtype))


PER_ROOT_MAX_DEGREE = 5  # up to this degree (the binary lens) the step is unrolled per root


def _solve(c, z0, frozen, max_iter, per_root):
    """The iteration, in real arithmetic (XLA's complex division is ~3x slower on CPU).

    Each pair's ``1/(z_k - z_j)`` is taken once for both roots. Up to ``PER_ROOT_MAX_DEGREE``
    each root's real and imaginary parts are separate arrays (contiguous along a ``vmap``-ed
    batch) and the step is unrolled per root: a vmapped solve of the binary-lens quintic
    runs 2.3x faster than on an ``(n,)`` array per source. Above it (the triple lens's
    degree 10) the roots stay stacked: unrolling doubles the compile time for no speed
    (``benchmarks/RESULTS.md``, "Root solver").
    """
    n = c.shape[0] - 1
    c = c.at[-1].set(_safe_lead(c))
    per_root = per_root and n <= PER_ROOT_MAX_DEGREE
    cr, ci, ca = jnp.real(c), jnp.imag(c), jnp.abs(c)
    if per_root:  # separate scalars, taken once: a slice in the loop is a strided gather per use under vmap
        cr, ci, ca = ([x[i] for i in range(n + 1)] for x in (cr, ci, ca))
    eps = jnp.finfo(c.real.dtype).eps
    tol_backward = 4 * n * eps

    def split(v):
        return tuple(v[k] for k in range(n))

    def horner(xr, xi):
        zero = jnp.zeros_like(xr)
        pr, pi, dr, di = zero + cr[-1], zero + ci[-1], zero, zero
        for i in range(n - 1, -1, -1):
            dr, di = dr * xr - di * xi + pr, dr * xi + di * xr + pi
            pr, pi = pr * xr - pi * xi + cr[i], pr * xi + pi * xr + ci[i]
        return pr, pi, dr, di

    def horner_abs(r):
        out = ca[-1]
        for i in range(n - 1, -1, -1):
            out = out * r + ca[i]
        return out

    def step(xr, xi, sr, si, done):
        """Aberth step and stopping test for roots ``x`` (any shape) with pair sums ``s``."""
        pr, pi, dr, di = horner(xr, xi)
        d2 = dr * dr + di * di
        d2 = jnp.where(d2 == 0, eps, d2)
        rr, ri = (pr * dr + pi * di) / d2, (pi * dr - pr * di) / d2  # p/p'
        er, ei = 1 - (rr * sr - ri * si), -(rr * si + ri * sr)
        e2 = er * er + ei * ei
        e2 = jnp.where(e2 == 0, 1.0, e2)
        tr, ti = (rr * er + ri * ei) / e2, (ri * er - rr * ei) / e2
        r2 = xr * xr + xi * xi
        backward = (pr * pr + pi * pi) <= (tol_backward * horner_abs(jnp.sqrt(r2))) ** 2
        tiny_step = (tr * tr + ti * ti) <= (4 * eps) ** 2 * r2
        done = done | backward | tiny_step
        return jnp.where(done, xr, xr - tr), jnp.where(done, xi, xi - ti), done

    def cond(state):
        return (state[3] < max_iter) & ~(functools.reduce(jnp.logical_and, state[2]) if per_root else jnp.all(state[2]))

    def body(state):
        xr, xi, done, it = state
        ur, ui = (xr, xi) if per_root else (split(xr), split(xi))  # each root's parts, sliced once
        sr, si = [0.0] * n, [0.0] * n  # sum_{j!=k} 1/(z_k - z_j), each pair once
        for k in range(n):
            for j in range(k + 1, n):
                ar, ai = ur[k] - ur[j], ui[k] - ui[j]
                inv = 1.0 / (ar * ar + ai * ai)
                gr, gi = ar * inv, -ai * inv
                sr[k], si[k], sr[j], si[j] = sr[k] + gr, si[k] + gi, sr[j] - gr, si[j] - gi
        if per_root:
            return (*(tuple(v) for v in zip(*map(step, xr, xi, sr, si, done))), it + 1)
        return (*step(xr, xi, jnp.stack(sr), jnp.stack(si), done), it + 1)

    state = (jnp.real(z0), jnp.imag(z0), frozen, jnp.array(0))
    if per_root:
        state = (*map(split, state[:3]), state[3])
    xr, xi, done, _ = jax.lax.while_loop(cond, body, state)
    xr, xi, done = (jnp.stack(v) if per_root else v for v in (xr, xi, done))
    # final Newton polish (skipped where p' vanishes)
    pr, pi, dr, di = horner(xr, xi)
    d2 = dr * dr + di * di
    ok = (d2 > 0) & ~frozen
    d2 = jnp.where(ok, d2, 1.0)
    xr = xr - jnp.where(ok, (pr * dr + pi * di) / d2, 0.0)
    xi = xi - jnp.where(ok, (pi * dr - pr * di) / d2, 0.0)
    return jax.lax.complex(xr, xi), jnp.all(done)


@partial(jax.custom_jvp, nondiff_argnums=(3, 4))
def _roots(c, z0, frozen, max_iter, per_root):
    return _solve(c, z0, frozen, max_iter, per_root)


@_roots.defjvp
def _roots_jvp(max_iter, per_root, primals, tangents):
    c, z0, frozen = primals
    dc = tangents[0]  # the roots depend on neither the start nor the frozen mask
    z, converged = _roots(c, z0, frozen, max_iter, per_root)
    _, dp = _horner(c, z)
    dpz = jax.vmap(lambda zk: _horner(dc, zk)[0])(z)  # sum_i dc_i z_k^i
    ok = jnp.abs(dp) > 0
    dz = jnp.where(ok, -dpz / jnp.where(ok, dp, 1.0), 0.0)
    return (z, converged), (dz, np.zeros(converged.shape, dtype=jax.dtypes.float0))


def polynomial_roots(coeffs, z0=None, *, frozen=None, max_iter: int = 100, per_root: bool = False) -> RootResult:
    """All roots of the polynomial with ascending complex coefficients ``coeffs``.

    Args:
      coeffs: complex ``(n + 1,)``, ``coeffs[i]`` multiplies ``z**i``.
      z0: optional complex ``(n,)`` warm start (e.g. the previous trajectory point's roots).
      frozen: optional bool ``(n,)``: entries of ``z0`` held fixed (they still repel the
        others through the Aberth sum); used to refine only part of a warm start.
      max_iter: static iteration cap.
      per_root: static; unroll the step per root (degree <= ``PER_ROOT_MAX_DEGREE``): ~2x faster
        when vmapped over hundreds of polynomials, slower to compile (see ``_solve``).
    Returns:
      ``RootResult(roots, converged)``; differentiable in ``coeffs`` (implicit function theorem).
    """
    coeffs = jnp.asarray(coeffs)
    if coeffs.ndim != 1:
        raise ValueError(
            f"polynomial_roots takes one polynomial (1-D coefficients), got shape {coeffs.shape}; "
            "use jax.vmap to solve many"
        )
    if not jnp.issubdtype(coeffs.dtype, jnp.complexfloating):
        coeffs = coeffs.astype(jnp.result_type(coeffs, 1j))
    if z0 is None:
        z0 = initial_guess(jax.lax.stop_gradient(coeffs))
    else:
        z0 = jnp.asarray(z0, dtype=coeffs.dtype)
        if z0.shape != (coeffs.shape[0] - 1,):
            raise ValueError(f"z0 must have shape ({coeffs.shape[0] - 1},), got {z0.shape}")
    z0 = jax.lax.stop_gradient(z0)
    if frozen is None:
        frozen = jnp.zeros(z0.shape, dtype=bool)
    elif z0 is None or jnp.shape(frozen) != z0.shape:
        raise ValueError("frozen needs a warm start z0 of the same shape")
    return RootResult(*_roots(coeffs, z0, jnp.asarray(frozen, dtype=bool), int(max_iter), bool(per_root)))
