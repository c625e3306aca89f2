"""Mode bookkeeping of the staged fit: a binary or triple mode and its mirror image are one solution."""
import jax.numpy as jnp
import numpy as np
import pytest

import microjax_core as mc
from pipeline.fit.models import ModelSpec
from pipeline.fit.modes import _distinct, _mirror


def _light_curve(spec, theta, t):
    """A(t) straight from microjax_core (independent of the fit's model code)."""
    p = dict(zip(spec.names, np.asarray(theta, float)))
    w = mc.source_trajectory(jnp.asarray(t), p["t0"], np.exp(p["log_tE"]), p["u0"], p["alpha"])
    if spec.model_type == "2L1S":
        lens = mc.BinaryLens(np.exp(p["log_s"]), np.exp(p["log_q"]))
    else:
        lens = mc.TripleLens(np.exp(p["log_s"]), np.exp(p["log_q"]), np.exp(p["log_s13"]), np.exp(p["log_q3"]),
                             p["psi"])
    return np.asarray(mc.magnification(w, lens))


@pytest.mark.parametrize("model_type", ["2L1S", "3L1S"])
def test_a_mode_and_its_mirror_are_one_solution(model_type):
    spec = ModelSpec(model_type, method="point")
    theta = {"t0": 0.0, "log_tE": np.log(20.0), "u0": 0.12, "alpha": 4.28, "log_s": np.log(1.9),
             "log_q": np.log(0.19), "log_s13": np.log(1.3), "log_q3": np.log(1e-3), "psi": 0.7}
    theta = np.array([theta[n] for n in spec.names])
    t = np.linspace(-40.0, 40.0, 2001)
    mirror = _mirror(theta, spec)
    # the mirror image about the lens axis has the same light curve, caustic crossings included
    a, b = _light_curve(spec, theta, t), _light_curve(spec, mirror, t)
    assert a.max() > 3.0
    np.testing.assert_allclose(b, a, rtol=1e-9)
    assert not _distinct(mirror, [theta], spec)
    assert not _distinct(mirror + 0.01, [theta], spec)  # and modes next to it
    # only alpha reflected (u0 kept): another trajectory, another light curve, another mode
    other = theta.copy()
    other[spec.names.index("alpha")] *= -1.0
    assert np.max(np.abs(_light_curve(spec, other, t) / a - 1)) > 0.01
    assert _distinct(other, [theta], spec)
    # with parallax the mirror is a distinct (ecliptic-degenerate) solution, fitted on its own
    par = ModelSpec(model_type, method="point", parallax=True)
    assert _distinct(np.r_[mirror, 0.1, 0.0], [np.r_[theta, 0.1, 0.0]], par)
