"""Source surface-brightness laws (DESIGN.md §3), as pytrees with traced coefficients.

With ``mu = sqrt(1 - r**2/rho**2)`` the laws are

* ``UniformSource()``:      ``I ∝ 1``
* ``LinearLD(u)``:          ``I ∝ 1 - u (1 - mu)``            (VBMicrolensing's ``a1`` = u)
* ``QuadraticLD(a, b)``:    ``I ∝ 1 - a (1 - mu) - b (1 - mu)**2``
* ``SquareRootLD(c, d)``:   ``I ∝ 1 - c (1 - mu) - d (1 - sqrt(mu))``

each normalised so that the brightness integrates to 1 over the disc of radius ``rho``
(an unlensed source has magnification 1): the disc integrals of ``1 - mu``,
``(1 - mu)**2`` and ``1 - sqrt(mu)`` are ``pi rho**2`` times 1/3, 1/6 and 1/5.
``brightness(mu)`` returns the profile with the ``pi rho**2`` factor left out.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["UniformSource", "LinearLD", "QuadraticLD", "SquareRootLD", "as_profile"]


class _Law:
    _fields: tuple[str, ...] = ()

    def tree_flatten(self):
        return tuple(getattr(self, f) for f in self._fields), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        obj = object.__new__(cls)
        for f, c in zip(cls._fields, children):
            object.__setattr__(obj, f, c)
        return obj

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self._fields)})"

    @property
    def is_uniform(self) -> bool:
        return False

    def brightness(self, mu):  # pragma: no cover - abstract
        raise NotImplementedError

    def _validate(self):
        """For concrete coefficients: the profile must be finite and non-negative on the disc."""
        values = [getattr(self, f) for f in self._fields]
        if any(isinstance(v, jax.core.Tracer) for v in values):
            return
        args = ", ".join(f"{f}={v!r}" for f, v in zip(self._fields, values))
        if not all(np.all(np.isfinite(np.asarray(v, dtype=float))) for v in values):
            raise ValueError(f"{type(self).__name__}({args}): coefficients must be finite")
        ndim = max(np.ndim(v) for v in values)  # per-event coefficient arrays: every law checked
        profile = np.asarray(self.brightness(np.linspace(0.0, 1.0, 101).reshape((101,) + (1,) * ndim)))
        if not (np.all(np.isfinite(profile)) and np.all(profile >= 0)):
            raise ValueError(f"{type(self).__name__}({args}): the surface brightness must be finite and "
                             "non-negative over the disc (and integrate to a positive flux)")


@jax.tree_util.register_pytree_node_class
class UniformSource(_Law):
    """A uniformly bright disc."""

    @property
    def is_uniform(self) -> bool:
        return True

    def brightness(self, mu):
        return jnp.ones_like(mu)


@jax.tree_util.register_pytree_node_class
class LinearLD(_Law):
    """Linear law ``1 - u (1 - mu)``."""

    _fields = ("u",)

    def __init__(self, u):
        self.u = u
        self._validate()

    def brightness(self, mu):
        return (1 - self.u * (1 - mu)) / (1 - self.u / 3)


@jax.tree_util.register_pytree_node_class
class QuadraticLD(_Law):
    """Quadratic law ``1 - a (1 - mu) - b (1 - mu)**2``."""

    _fields = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b
        self._validate()

    def brightness(self, mu):
        one_minus = 1 - mu
        return (1 - self.a * one_minus - self.b * one_minus**2) / (1 - self.a / 3 - self.b / 6)


@jax.tree_util.register_pytree_node_class
class SquareRootLD(_Law):
    """Square-root law ``1 - c (1 - mu) - d (1 - sqrt(mu))``."""

    _fields = ("c", "d")

    def __init__(self, c, d):
        self.c, self.d = c, d
        self._validate()

    def brightness(self, mu):
        return (1 - self.c * (1 - mu) - self.d * (1 - jnp.sqrt(mu))) / (1 - self.c / 3 - self.d / 5)


def as_profile(limb_darkening) -> _Law:
    """``None`` means a uniform source; anything else must be one of the laws above."""
    if limb_darkening is None:
        return UniformSource()
    if not isinstance(limb_darkening, _Law):
        raise TypeError(
            f"limb_darkening must be None, UniformSource(), LinearLD(u), QuadraticLD(a, b) or "
            f"SquareRootLD(c, d); got {limb_darkening!r}"
        )
    return limb_darkening
