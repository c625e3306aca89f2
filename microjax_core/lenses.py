"""Lens configurations as JAX pytrees.

Conventions (DESIGN.md §3, identical to VBMicrolensing's frames): angles in units
of the Einstein radius of the total lens mass; masses are fractions of the total.

* ``PointLens()``: one unit mass at the origin.
* ``BinaryLens(s, q)``: ``q = m2/m1``; origin at the barycentre; lens 1 (mass
  ``1/(1+q)``) at ``x = -s q/(1+q)``, lens 2 (mass ``q/(1+q)``) at ``x = +s/(1+q)``.
* ``TripleLens(s, q, s13, q3, psi)``: lenses 1 and 2 placed exactly as for the
  binary (origin at *their* barycentre, so ``q3 -> 0`` gives the binary), ``q3 =
  m3/m1``, lens 3 at ``z1 + s13 exp(i psi)`` (``psi`` counter-clockwise from the
  1->2 direction); masses ``(1, q, q3)/(1 + q + q3)``. This is VBMicrolensing's
  ``TripleLightCurve`` geometry. microJAX (Miyazaki & Kawahara 2025) instead
  places lens 3 at ``r3 exp(i psi)`` from the 1-2 *midpoint*: convert with
  ``r3 exp(i psi) = z1 + s13 exp(i psi) - (z1 + z2)/2`` (see ``TripleLens.from_microjax``).

Every lens exposes ``positions()`` (complex, shape ``(n,)``) and ``masses()``
(real, shape ``(n,)``, summing to 1); all numerical kernels work from those two.
Parameters may be Python numbers, arrays or JAX tracers: validation runs only
when they are concrete.
"""
from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["PointLens", "BinaryLens", "TripleLens"]


def _check(name: str, value, *, positive: bool = False, nonnegative: bool = False):
    """Validate a concrete parameter; tracers pass through untouched."""
    if isinstance(value, jax.core.Tracer):
        return value
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        arr = np.asarray(value)
    elif isinstance(value, (np.ndarray, jax.Array)):
        arr = np.asarray(value)
    else:
        raise TypeError(f"{name} must be a real number or array, got {type(value).__name__}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got complex value {value!r}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not np.all(arr > 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if nonnegative and not np.all(arr >= 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


class _Lens:
    """Shared pytree plumbing: subclasses list their traced fields in ``_fields``."""

    _fields: tuple[str, ...] = ()
    n_lenses: int = 0

    def tree_flatten(self):
        return tuple(getattr(self, f) for f in self._fields), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)  # no validation: children may be tracers or sentinels
        for f, c in zip(cls._fields, children):
            object.__setattr__(obj, f, c)
        return obj

    def __repr__(self):
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({args})"

    def positions(self) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def masses(self) -> jax.Array:  # pragma: no cover - abstract
        raise NotImplementedError


@jax.tree_util.register_pytree_node_class
class PointLens(_Lens):
    """A single point lens of unit mass at the origin (Paczyński 1986)."""

    _fields = ()
    n_lenses = 1

    def positions(self):
        return jnp.zeros((1,), dtype=complex)

    def masses(self):
        return jnp.ones((1,))


@jax.tree_util.register_pytree_node_class
class BinaryLens(_Lens):
    """Binary lens ``(s, q)`` in the barycentric frame (see module docstring)."""

    _fields = ("s", "q")
    n_lenses = 2

    def __init__(self, s, q):
        self.s = _check("s", s, positive=True)
        self.q = _check("q", q, positive=True)

    def positions(self):
        s, q = jnp.asarray(self.s), jnp.asarray(self.q)
        z1 = -s * q / (1 + q)
        z2 = s / (1 + q)
        return jnp.stack([z1, z2]).astype(jnp.result_type(z1, 1j))

    def masses(self):
        q = jnp.asarray(self.q)
        return jnp.stack([1 / (1 + q), q / (1 + q)])


@jax.tree_util.register_pytree_node_class
class TripleLens(_Lens):
    """Triple lens ``(s, q, s13, q3, psi)`` in VBMicrolensing's geometry (module docstring)."""

    _fields = ("s", "q", "s13", "q3", "psi")
    n_lenses = 3

    def __init__(self, s, q, s13, q3, psi):
        self.s = _check("s", s, positive=True)
        self.q = _check("q", q, positive=True)
        self.s13 = _check("s13", s13, positive=True)
        self.q3 = _check("q3", q3, nonnegative=True)
        self.psi = _check("psi", psi)

    @classmethod
    def from_microjax(cls, s, q, q3, r3, psi):
        """Build from microJAX's ``(s, q, q3, r3, psi)``: lens 3 at ``r3 e^{i psi}`` from the 1-2 midpoint."""
        z1 = -s * q / (1 + q)
        z2 = s / (1 + q)
        z3 = 0.5 * (z1 + z2) + r3 * complex(math.cos(psi), math.sin(psi))
        d = z3 - z1
        return cls(s, q, abs(d), q3, math.atan2(d.imag, d.real))

    def positions(self):
        s, q = jnp.asarray(self.s), jnp.asarray(self.q)
        s13, psi = jnp.asarray(self.s13), jnp.asarray(self.psi)
        z1 = -s * q / (1 + q)
        z2 = s / (1 + q)
        z3 = z1 + s13 * jnp.exp(1j * psi)
        dtype = jnp.result_type(z1, z3)
        return jnp.stack([z1.astype(dtype), z2.astype(dtype), z3])

    def masses(self):
        q, q3 = jnp.asarray(self.q), jnp.asarray(self.q3)
        tot = 1 + q + q3
        return jnp.stack([1 / tot, q / tot, q3 / tot])
