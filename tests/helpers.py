"""Our own tolerance helpers: element-wise, never scaled with array size."""
from __future__ import annotations

import numpy as np


def relative_error(actual, expected):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    return np.abs(actual - expected) / np.abs(expected)


def assert_rel_close(actual, expected, rtol, what=""):
    err = relative_error(actual, expected)
    worst = int(np.argmax(err))
    assert err.max() <= rtol, (
        f"{what}: max relative error {err.max():.3e} > {rtol:.1e} at index {worst} "
        f"(got {np.ravel(actual)[worst]!r}, expected {np.ravel(expected)[worst]!r})"
    )
