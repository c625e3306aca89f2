"""Lens-equation polynomials for one, two or three point lenses.

The complex lens equation ``w = z - sum_k eps_k / conj(z - z_k)`` (Witt 1990;
Rhie 2002 for three lenses) becomes a polynomial in ``z`` after eliminating
``conj(z)``: conjugating it gives ``conj(z) = N(z)/D(z)`` with

    D(z) = prod_k (z - z_k),
    N(z) = conj(w) D(z) + sum_k eps_k prod_{j!=k} (z - z_j),

and substituting back, with ``Q_k = N - conj(z_k) D``,

    P(z) = (z - w) prod_k Q_k  -  D sum_k eps_k prod_{j!=k} Q_j ,

of degree ``n**2 + 1`` (2, 5, 10 for n = 1, 2, 3) and leading coefficient
``prod_k (conj(w) - conj(z_k))``. Every image is a root of ``P``; the converse
fails (false roots), so images are told apart by their residual on the lens
equation itself (see ``images.py``).

Coefficients are built in a frame whose origin the caller chooses (``origin``):
the roots come back in that shifted frame. Coefficient arrays are in
*ascending* order (``c[i]`` multiplies ``z**i``).
"""
from __future__ import annotations

import jax.numpy as jnp

__all__ = ["lens_polynomial", "polynomial_degree"]


def polynomial_degree(n_lenses: int) -> int:
    """Degree of the lens-equation polynomial for ``n_lenses`` point masses."""
    return n_lenses * n_lenses + 1


def _mul(a, b):
    """Product of two ascending coefficient arrays (small, static sizes)."""
    out = jnp.zeros(a.shape[0] + b.shape[0] - 1, dtype=jnp.result_type(a, b))
    for i in range(a.shape[0]):
        out = out.at[i : i + b.shape[0]].add(a[i] * b)
    return out


def _pad(a, n):
    return jnp.concatenate([a, jnp.zeros(n - a.shape[0], dtype=a.dtype)])


def _prod(polys, dtype):
    out = jnp.ones((1,), dtype=dtype)
    for p in polys:
        out = _mul(out, p)
    return out


def lens_polynomial(w, zs, eps):
    """Coefficients (ascending) of the lens-equation polynomial ``P`` above.

    Args:
      w: complex scalar, source position in the polynomial's frame.
      zs: complex ``(n,)`` lens positions in the same frame.
      eps: real ``(n,)`` mass fractions.
    Returns:
      complex array of shape ``(n**2 + 2,)``.
    """
    n = zs.shape[0]
    dtype = jnp.result_type(w, zs)
    eps = eps.astype(dtype)
    linear = [jnp.stack([-zs[k], jnp.ones((), dtype)]) for k in range(n)]  # z - z_k
    D = _prod(linear, dtype)
    others = [_prod([linear[j] for j in range(n) if j != k], dtype) for k in range(n)]
    N = jnp.conj(w) * D
    for k in range(n):
        N = N + _pad(eps[k] * others[k], n + 1)
    Q = [N - jnp.conj(zs[k]) * D for k in range(n)]
    first = _mul(jnp.stack([-w, jnp.ones((), dtype)]), _prod(Q, dtype))
    inner = jnp.zeros((n * (n - 1) + 1,), dtype)
    for k in range(n):
        inner = inner + eps[k] * _prod([Q[j] for j in range(n) if j != k], dtype)
    second = _mul(D, inner)
    return first - _pad(second, first.shape[0])
