"""ICRS finite-source magnification against VBMicrolensing (contour integration, Bozza 2010/2018).

References run at Tol = RelTol = 1e-8, >= 10x tighter than every bound asserted here.
Bounds are the measured worst cases of the default grid with a small cushion (see
benchmarks/RESULTS.md for the full sweeps); the issue's target is 1e-3 max / 1e-4 median.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import microjax_core as mc
from microjax_core.icrs import icrs_magnification

from .. import reference as ref

S, Q = 1.0, 0.01


def _central_track(n, lo=-0.25, hi=0.25):
    """The issue's reference trajectory (s = 1, q = 0.01, u0 = 0, alpha = 10 deg) over the caustic."""
    tau = np.linspace(lo, hi, n)
    a = np.deg2rad(10.0)
    return tau * np.cos(a) + 1j * tau * np.sin(a)


def _vb_binary(w, rho, u_ld=None, s=S, q=Q):
    vb = ref.vbm()
    vb.Tol, vb.RelTol = 1e-8, 1e-8
    if u_ld is None:
        return np.array([vb.BinaryMag(s, q, x.real, x.imag, rho, 1e-8) for x in w])
    vb.a1 = u_ld
    return np.array([vb.BinaryMagDark(s, q, x.real, x.imag, rho, 1e-8) for x in w])


@pytest.mark.parametrize("rho, u_ld, max_bound, median_bound", [
    (1e-2, None, 6e-3, 1e-4),
    (1e-3, None, 1e-3, 1e-4),
    (1e-2, 0.5, 6e-3, 1e-4),
])
def test_central_caustic_crossing_matches_vbmicrolensing(rho, u_ld, max_bound, median_bound):
    w = _central_track(48)
    law = None if u_ld is None else mc.LinearLD(u_ld)
    result = icrs_magnification(jnp.asarray(w), mc.BinaryLens(S, Q), rho, law)
    err = np.abs(np.asarray(result.magnification) / _vb_binary(w, rho, u_ld) - 1)
    assert not np.any(np.asarray(result.overflow))
    assert err.max() < max_bound, (err.max(), w[np.argmax(err)])
    assert np.median(err) < median_bound


def test_planetary_caustic_crossing_matches_vbmicrolensing():
    s, q, rho = 1.3, 1e-3, 1e-3
    x0 = -s * q / (1 + q) + (s - 1 / s)  # planetary caustic, s - 1/s from the primary
    w = x0 + np.linspace(-0.03, 0.03, 40) + 1j * np.linspace(-0.008, 0.012, 40)
    got = np.asarray(icrs_magnification(jnp.asarray(w), mc.BinaryLens(s, q), rho).magnification)
    err = np.abs(got / _vb_binary(w, rho, s=s, q=q) - 1)
    assert err.max() < 1e-3, (err.max(), w[np.argmax(err)])


def _benchmark_curve_points(case, index):
    """``(s, q, w[index])`` of ``benchmarks/bench_finite_source.py``'s 1000-point curves."""
    if case == "central":
        tau, a = np.linspace(-1, 1, 1000)[list(index)], np.deg2rad(10.0)
        return S, Q, tau * np.cos(a) + 1j * tau * np.sin(a)
    s, q, b = 1.3, 1e-3, np.deg2rad(60.0)
    t2 = np.linspace(-0.08, 0.08, 1000)[list(index)]
    return s, q, -s * q / (1 + q) + (s - 1 / s) + 0.002 + t2 * np.cos(b) + 1j * t2 * np.sin(b)


@pytest.mark.parametrize("case, rho, index", [
    ("central", 1e-2, (494, 588)),  # ring arcs cut by slanted bisectors (theta rule); a merging pair
    ("central", 1e-3, (496, 578)),  # lines grazing a thin arc between radial nodes
    ("planetary", 1e-2, (334, 650)),  # a pair of images merging between two limb samples (lonely tips)
])
def test_worst_points_of_the_benchmark_curves(case, rho, index):
    """The points of ``benchmarks/bench_finite_source.py``'s curves that were off by 2.8e-3 to 6.6e-3
    (session 23) are within the issue's 1e-3 at the default grid."""
    s, q, w = _benchmark_curve_points(case, index)
    got = np.asarray(icrs_magnification(jnp.asarray(w), mc.BinaryLens(s, q), rho).magnification)
    err = np.abs(got / _vb_binary(w, rho, s=s, q=q) - 1)
    assert err.max() < 1e-3, err


@pytest.mark.parametrize("case, rho, index", [
    ("central", 1e-2, (492, 496)),
    ("planetary", 1e-3, (609,)),
])
def test_high_accuracy_reaches_1e_4(case, rho, index):
    """``accuracy="high"`` within the issue's 1e-4 where the previous "high" grid (256 limb samples,
    128 lines, 32 nodes) was off by 1.8e-4 to 4.1e-4 (session 25: those points of the benchmark curves)."""
    s, q, w = _benchmark_curve_points(case, index)
    got = np.asarray(mc.magnification(jnp.asarray(w), mc.BinaryLens(s, q), rho, method="icrs", accuracy="high"))
    err = np.abs(got / _vb_binary(w, rho, s=s, q=q) - 1)
    assert err.max() < 1e-4, err


@pytest.mark.parametrize("n_limb, n_theta, index", [(512, 128, (623, 631)), (384, 384, (355,))])
def test_finer_limb_sampling_does_not_lose_area(n_limb, n_theta, index):
    """More limb samples than the default keep the cut band's image-plane width: with a band of two
    sample gaps these planetary rho = 1e-2 points were off by 4.4e-3, 1.5e-3 (512) and 3.6e-4 (384)."""
    s, q, w = _benchmark_curve_points("planetary", index)
    got = np.asarray(icrs_magnification(jnp.asarray(w), mc.BinaryLens(s, q), 1e-2, n_limb=n_limb,
                                        n_theta=n_theta).magnification)
    err = np.abs(got / _vb_binary(w, 1e-2, s=s, q=q) - 1)
    assert err.max() < 1e-4, err


@pytest.mark.parametrize("rho, points", [
    (1e-3, np.linspace(-0.4, 0.4, 24)),
    # rho = 1e-2: 24 of 60 points on the track (the same shape: one compilation), with its worst
    # three (17, 34, 36); 17 was 1.5e-3 off while a thin image's cap lay between two limb samples
    # whose half-step tracking failed (session 26)
    (1e-2, np.linspace(-0.4, 0.4, 60)[15:39]),
])
def test_triple_lens_matches_vbmicrolensing_multimag(rho, points):
    lens = mc.TripleLens(1.0, 0.01, 1.2, 1e-3, 0.8)
    tau = points
    a = np.deg2rad(30.0)
    w = (tau * np.cos(a) - 0.02 * np.sin(a)) + 1j * (0.02 * np.cos(a) + tau * np.sin(a))
    vb = ref.vbm()
    vb.Tol, vb.RelTol = 1e-8, 1e-8
    ref.vb_set_geometry(vb, np.asarray(lens.positions()), np.asarray(lens.masses()))
    expected = np.array([vb.MultiMag(x.real, x.imag, rho) for x in w])
    got = np.asarray(icrs_magnification(jnp.asarray(w), lens, rho).magnification)
    err = np.abs(got / expected - 1)
    assert err.max() < 1e-3, (err.max(), w[np.argmax(err)])


def _ours(p):
    s, q, x, y, rho = p
    return icrs_magnification(x + 1j * y, mc.BinaryLens(s, q), rho).magnification


@pytest.mark.parametrize("point", [(1.0, 0.01, 0.05, 0.0088, 1e-2), (1.3, 1e-3, 0.5, -0.004, 1e-3)])
def test_gradients_match_finite_differences_of_vbmicrolensing(point):
    p0 = np.array(point)
    value, grad = jax.value_and_grad(_ours)(jnp.asarray(p0))
    # autodiff does not change the value: equal to the rounding of a differently fused XLA program
    # (1 ulp measured at point1 since the image jvp comes from the lens equation; a surrogate would be >> 1e-15)
    assert float(value) == pytest.approx(float(_ours(jnp.asarray(p0))), rel=1e-15, abs=0)
    for name, g, fd in zip(["s", "q", "w_x", "w_y", "rho"], np.asarray(grad), _vb_gradient(p0, 1e-9)):
        assert abs(g / fd - 1) < 1e-2, (name, g, fd)


def _vb_gradient(p0, tol):
    """Central differences of VBMicrolensing's ``BinaryMag`` in (s, q, w_x, w_y, rho) at ``p0``."""
    vb = ref.vbm()
    out = []
    for i in range(5):
        h = 1e-5 * max(abs(p0[i]), 1e-2)
        up, down = p0.copy(), p0.copy()
        up[i] += h
        down[i] -= h
        out.append((vb.BinaryMag(*up[:4], up[4], tol) - vb.BinaryMag(*down[:4], down[4], tol)) / (2 * h))
    return np.array(out)


def test_limb_darkened_gradients_in_every_parameter():
    """s, q, w, rho and the LD coefficient of a limb-darkened source near the central caustic,
    against central differences of VBMicrolensing's ``BinaryMagDark`` (Tol 1e-8). The sqrt of
    the limb profile has an infinite slope at the limb: these were NaN before it was guarded."""
    p0 = np.array([S, Q, 0.05, 0.0088, 1e-2, 0.5])

    def ours(p):
        return icrs_magnification(p[2] + 1j * p[3], mc.BinaryLens(p[0], p[1]), p[4], mc.LinearLD(p[5])).magnification

    grad = np.asarray(jax.grad(ours)(jnp.asarray(p0)))
    for i, name in enumerate(["s", "q", "w_x", "w_y", "rho", "u"]):
        h = 1e-4 if name == "u" else 1e-5 * max(abs(p0[i]), 1e-2)
        up, down = p0.copy(), p0.copy()
        up[i] += h
        down[i] -= h
        fd = (_vb_binary([up[2] + 1j * up[3]], up[4], up[5], up[0], up[1])[0]
              - _vb_binary([down[2] + 1j * down[3]], down[4], down[5], down[0], down[1])[0]) / (2 * h)
        assert abs(grad[i] / fd - 1) < 5e-3, (name, grad[i], fd)  # measured: <= 1.3e-3 (s)


def test_continuous_across_a_fold_crossing():
    """A fine scan of the source across the caustic: no jump beyond the stated accuracy."""
    w = _central_track(120, 0.12, 0.19)  # crosses the fold near tau = 0.15
    rho = 1e-2
    got = np.asarray(icrs_magnification(jnp.asarray(w), mc.BinaryLens(S, Q), rho).magnification)
    rel = got / _vb_binary(w, rho) - 1
    assert np.abs(rel).max() < 6e-3
    assert np.abs(np.diff(rel)).max() < 6e-3


def test_far_from_caustics_equals_point_source_limit():
    """For a tiny source far from caustics ICRS tends to the point-source magnification."""
    w = jnp.asarray([0.6 + 0.5j, -0.9 - 0.4j])
    lens = mc.BinaryLens(S, Q)
    got = np.asarray(icrs_magnification(w, lens, 1e-4).magnification)
    point = np.asarray(mc.point_source_magnification(w, lens))
    np.testing.assert_allclose(got, point, rtol=3e-5)  # the grid's own error level (median ~1e-5)
