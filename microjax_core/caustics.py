"""Critical curves and caustics of point-lens systems (Witt 1990).

On the critical curve ``det J = 0``, i.e. ``|sum_k eps_k/(z - z_k)**2| = 1``:
for each phase ``phi`` the points solve the degree-``2n`` polynomial

    exp(i phi) prod_k (z - z_k)**2 - sum_k eps_k prod_{j!=k} (z - z_j)**2 = 0 .

The caustic is the critical curve mapped through the lens equation. The phases
are walked in order with a warm start from the previous phase (``lax.scan``),
so each root index traces one continuous branch.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ._dtype import require_float64
from .point_source import lens_equation
from .lenses import _Lens
from .polynomial import _mul, _pad, _prod
from .roots import polynomial_roots

__all__ = ["critical_curves_and_caustics"]


def _critical_polynomial(phase, zs, eps):
    n = zs.shape[0]
    dtype = zs.dtype
    sq = [_mul(jnp.stack([-zs[k], jnp.ones((), dtype)]), jnp.stack([-zs[k], jnp.ones((), dtype)]))
          for k in range(n)]
    lead = jnp.exp(1j * phase).astype(dtype) * _prod(sq, dtype)
    rest = jnp.zeros((2 * n - 1,), dtype)
    for k in range(n):
        rest = rest + eps[k].astype(dtype) * _prod([sq[j] for j in range(n) if j != k], dtype)
    return lead - _pad(rest, 2 * n + 1)


@partial(jax.jit, static_argnames=("n_points", "max_iter"))
def critical_curves_and_caustics(lens: _Lens, *, n_points: int = 1000, max_iter: int = 100):
    """Critical curves and caustics, each complex of shape ``(n_points, 2 n_lenses)``.

    Jitted (``n_points``, ``max_iter`` static): called op by op, its scan compiled anew per lens.

    Column ``j`` is one branch traced over ``n_points`` phases in ``[0, 2 pi)``;
    plot ``z[:, j]`` per branch (branches join end to end into closed curves).
    """
    require_float64("critical_curves_and_caustics", *jax.tree_util.tree_leaves(lens))
    zs = lens.positions().astype(jnp.complex128)
    eps = lens.masses().astype(jnp.float64)
    phases = jnp.linspace(0.0, 2 * np.pi, int(n_points), endpoint=False)

    def step(z_prev, phase):
        z, _ = polynomial_roots(_critical_polynomial(phase, zs, eps), z_prev, max_iter=max_iter)
        return z, z

    z_start, _ = polynomial_roots(_critical_polynomial(phases[0], zs, eps), max_iter=max_iter)
    _, crit = jax.lax.scan(step, z_start, phases)
    caus = lens_equation(crit, zs, eps)
    return crit, caus
