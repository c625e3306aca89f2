"""Fit plots: the anomaly zoom sits where the planet's caustic is (Han 2006 geometry), not elsewhere."""
import numpy as np

from pipeline.fit.models import ModelSpec
from pipeline.fit.plots import _anomaly_window


def test_zoom_window_brackets_the_planetary_caustic():
    # wide planet: its caustic lies at x ~ s - 1/s from the primary (Han 2006); the primary
    # sits at -s q/(1+q) in the barycentric frame. alpha = 0: the source moves along +x.
    s, q, u0, t0, te = 1.4, 5e-3, 0.05, 100.0, 20.0
    theta = np.array([t0, np.log(te), u0, 0.0, np.log(s), np.log(q)])
    x_caustic = s - 1 / s - s * q / (1 + q)
    t_caustic = t0 + x_caustic * te
    lo, hi = _anomaly_window(ModelSpec("2L1S"), theta, t0 - 3 * te, t0 + 3 * te)
    assert lo < t_caustic < hi
    assert hi - lo < 0.5 * te and not lo < t0 < hi  # a zoom on the anomaly, not on the peak


def test_no_zoom_when_the_companion_changes_nothing():
    theta = np.array([100.0, np.log(20.0), 0.3, 0.7, np.log(8.0), np.log(1e-7)])
    assert _anomaly_window(ModelSpec("2L1S"), theta, 40.0, 160.0) is None
