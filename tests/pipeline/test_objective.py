"""The padded chi^2: one call over all datasets, sequential JVPs, the Gauss-Newton Fisher matrix."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import microjax_core as mc
from pipeline.fit import Dataset
from pipeline.fit.models import ModelSpec, model_magnification
from pipeline.fit.objective import _chi2, _magnifications, gauss_newton_function, pack, sequential_jacobian

RA, DEC = 268.5, -29.0
THETA = np.array([10.0, np.log(20.0), 0.15, 0.4, np.log(1.1), np.log(0.01), 0.05, -0.1])  # 2L1S + parallax


def _datasets(theta, spec, noise=True, span=(-40, 60)):
    """Two datasets of different lengths and cadences (a binary with parallax), fluxes from the model."""
    rng = np.random.default_rng(8)
    out = []
    for name, n, fs, fb in (("W149", 300, 100.0, 20.0), ("Z087", 120, 40.0, 5.0)):
        t = np.sort(rng.uniform(*span, n))
        data = pack([Dataset(name, name, t, np.ones(n), np.ones(n))], ra=RA, dec=DEC, t0_par=10.0)
        a = np.asarray(model_magnification(spec, jnp.asarray(theta), data.t[0, :n], tuple(data.offsets[0, :, :n])))
        err = 0.01 * (fs * a + fb)
        flux = fs * a + fb + (rng.normal(size=n) * err if noise else 0.0)
        out.append(Dataset(name, name, t, flux, err, extra={"absolute": True}))
    return out


def test_one_call_over_datasets_equals_each_dataset_alone():
    """Flattening the datasets into one magnification call (no vmap) changes no value, parallax included."""
    spec = ModelSpec("2L1S", parallax=True, method="point")
    data = pack(_datasets(THETA, spec), ra=RA, dec=DEC, t0_par=10.0)
    got = np.asarray(_magnifications(spec, jnp.asarray(THETA), data))
    for i in range(2):  # independent: the model on one dataset's own times and offsets
        ref = model_magnification(spec, jnp.asarray(THETA), data.t[i], (data.offsets[i, 0], data.offsets[i, 1]))
        np.testing.assert_allclose(got[i], np.asarray(ref), rtol=1e-14)


def test_sequential_gradient_equals_reverse_mode():
    """The sequential Jacobian (one JVP per parameter; the Gauss-Newton Fisher matrix's) equals reverse mode."""
    spec = ModelSpec("2L1S", parallax=True, method="point")
    data = pack(_datasets(THETA, spec), ra=RA, dec=DEC, t0_par=10.0)
    theta = jnp.asarray(THETA + 0.01)
    value, grad = jax.value_and_grad(lambda th: _chi2(spec, th, data))(theta)
    v_seq, g_seq = jax.jit(lambda th: sequential_jacobian(lambda x: _chi2(spec, x, data), th))(theta)
    np.testing.assert_allclose(v_seq, value, rtol=1e-12)
    np.testing.assert_allclose(g_seq, grad, rtol=1e-8, atol=1e-8 * np.abs(grad).max())
    _, jac = sequential_jacobian(lambda th: jnp.stack([th[0] ** 2, th[1] * th[2]]), theta)
    np.testing.assert_allclose(jac, [[2 * theta[0], 0, 0, 0, 0, 0, 0, 0], [0, theta[2], theta[1], 0, 0, 0, 0, 0]])


def test_gauss_newton_fisher_equals_hessian_on_noiseless_data():
    """At the truth of noiseless data every residual is 0, so the chi^2 Hessian is exactly 2 J^T J."""
    spec = ModelSpec("2L1S", parallax=True, method="point")
    data = pack(_datasets(THETA, spec, noise=False), ra=RA, dec=DEC, t0_par=10.0)
    theta = jnp.asarray(THETA)
    assert float(_chi2(spec, theta, data)) < 1e-8
    hess = np.asarray(jax.hessian(lambda th: _chi2(spec, th, data))(theta))
    fisher = np.asarray(gauss_newton_function(spec)(theta, data))
    np.testing.assert_allclose(fisher, hess, rtol=1e-6, atol=1e-8 * np.abs(hess).max())



def test_least_squares_polish_reaches_the_truth_of_noiseless_data():
    """Gauss-Newton steps on the exact Jacobian from a start off in every parameter (alpha by 0.02 rad, ln s by
    0.01, ...) end at the truth of noiseless data (chi^2 0) within its few evaluations."""
    from pipeline.fit.search import polish_least_squares

    spec = ModelSpec("2L1S", parallax=True, method="point")
    data = pack(_datasets(THETA, spec, noise=False), ra=RA, dec=DEC, t0_par=10.0)
    start = THETA + np.array([0.05, 0.01, -0.005, 0.02, 0.01, -0.03, 0.02, -0.02])
    assert float(_chi2(spec, jnp.asarray(start), data)) > 100.0
    mode = polish_least_squares(spec, start, data, max_evaluations=20)
    assert mode.chi2 < 1e-6
    np.testing.assert_allclose(mode.theta, THETA, atol=1e-6)

def test_binary_modes_refitted_with_parallax():
    """A long wide-binary event with parallax: the no-parallax mode refitted on both sides of the axis finds piE.

    Truth: tE = 60 d, piE = (0.3, -0.2), 320 days of data; the refit starts from piE = 0.
    """
    from pipeline.fit import FitConfig
    from pipeline.fit.search import optimise
    from pipeline.fit.modes import with_parallax

    truth = np.array([10.0, np.log(60.0), 0.15, 0.4, np.log(1.1), np.log(0.01), 0.3, -0.2])
    spec = ModelSpec("2L1S", parallax=True, method="point")
    datasets = _datasets(truth, spec, span=(-150, 170))
    flat = ModelSpec("2L1S", method="point")
    start = optimise(flat, truth[:6], pack(datasets), maxiter=200)
    start.label = "2L1S-wide"
    data = pack(datasets, ra=RA, dec=DEC, t0_par=10.0)
    modes = with_parallax([start], data, FitConfig(parallax=True, ra=RA, dec=DEC))
    assert {m.label for m in modes} <= {"2L1S-wide,u0+", "2L1S-wide,u0-"} and modes[0].spec == spec
    best = modes[0]
    n = sum(len(d) for d in datasets)
    # as good as the truth (chi^2 within a few of it) and far better than without parallax
    chi2_true = float(_chi2(spec, jnp.asarray(truth), data))
    assert best.chi2 < chi2_true + 5 and best.chi2 < start.chi2 - 100, (best.chi2, chi2_true, start.chi2)
    assert best.chi2 / n < 1.2
    # piE within the 99.7% region of its Laplace covariance (sigma ~ 0.05 here)
    cov = np.linalg.inv(np.asarray(jax.hessian(lambda th: _chi2(spec, th, data))(jnp.asarray(best.theta))) / 2)[6:, 6:]
    delta = best.theta[6:] - truth[6:]
    assert delta @ np.linalg.solve(cov, delta) < 11.8, (best.theta[6:], np.sqrt(np.diag(cov)))


def test_triple_seeds_put_the_third_body_caustic_on_the_source_track():
    """Some seed puts a caustic of the third body on the source position at the anomaly time.

    Independent of the seed formula: the caustics are traced from the triple lens equation
    (``critical_curves_and_caustics``) for the seeds of the central direction. Hosts: a
    planetary system (q = 1e-3) and a close binary (q = 0.3, s = 0.8): within 0.02; a wide
    binary (q = 0.5, s = 2.5), whose shear moves the planet's caustic: within 0.05.
    """
    from pipeline.fit.search import Mode, triple_seeds
    from microjax_core.caustics import critical_curves_and_caustics

    for q, s, limit in ((1e-3, 0.8, 0.02), (0.3, 0.8, 0.02), (0.5, 2.5, 0.05)):
        caustics = jax.jit(lambda th, s=s, q=q: critical_curves_and_caustics(
            mc.TripleLens(s, q, jnp.exp(th[6]), jnp.exp(th[7]), th[8]), n_points=2000)[1])
        binary = Mode(ModelSpec("2L1S", method="point"),
                      np.array([0.0, np.log(20.0), 0.1, 0.7, np.log(s), np.log(q)]), 0.0)
        t_a = 25.0  # tau = 1.25: away from the binary's central caustic
        w = complex(mc.source_trajectory(t_a, 0.0, 20.0, 0.1, 0.7))
        seeds = triple_seeds(binary, t_a)
        assert seeds.shape[1] == 9 and np.allclose(seeds[:, :6], binary.theta)
        # 2 hosts x (wide, close) x 3 directions x 3 distances x 8 q3: the central direction is rows 24..47 of 72
        central = np.concatenate([seeds[b + 24: b + 48] for b in range(0, 288, 72)])
        dist = [np.min(np.abs(np.asarray(caustics(jnp.asarray(th))) - w)) for th in central]
        assert min(dist) < limit, (q, s, min(dist))


@pytest.mark.slow  # minutes on 2 cores: compiles magnification_batch and the finite-source chi^2
def test_finite_source_grid_chi2_equals_one_row_at_a_time():
    """``batched_chi2_finite_source`` (rows gathered by ``magnification_batch``) equals ``chi2_function`` row by
    row on a caustic-crossing binary with parallax, two datasets (values to 1e-9 relative)."""
    from pipeline.fit.objective import FS_GRID_BLOCK, batched_chi2_finite_source, chi2_function

    spec = ModelSpec("2L1S", finite_source=True, parallax=True)
    theta = np.r_[THETA[:3], np.log(0.01), THETA[3:]]
    theta[2] = 0.02  # the track crosses the central caustic
    data = pack(_datasets(theta, spec, span=(-10, 30)), ra=RA, dec=DEC, t0_par=10.0)
    rows = np.repeat(theta[None], FS_GRID_BLOCK + 3, axis=0)  # two blocks, the second padded
    rows[:, 4] += np.linspace(-0.05, 0.05, rows.shape[0])
    got = batched_chi2_finite_source(spec, rows, data)
    for i in (0, 40, FS_GRID_BLOCK + 2):
        one = float(chi2_function(spec)(jnp.asarray(rows[i]), data))
        assert abs(got[i] / one - 1) < 1e-9, (i, got[i], one)
    assert got.shape == (rows.shape[0],) and np.argmin(got) == rows.shape[0] // 2


def test_two_pass_ranking_keeps_the_full_chi2_order_of_the_best_rows():
    """``ranked_chi2``: the rows it keeps score their chi^2 on all epochs (``batched_chi2``, computed
    independently here), every other row scores above them, and the best rows come out in the full order."""
    from pipeline.fit.objective import batched_chi2, every_nth, ranked_chi2

    spec = ModelSpec("1L1S")
    truth = np.array([10.0, np.log(20.0), 0.15])
    data = pack(_datasets(np.r_[truth, 0.0, 0.0], ModelSpec("1L1S", parallax=True))[:1])
    rng = np.random.default_rng(3)
    rows = truth + rng.normal(size=(1500, 3)) * [3.0, 0.3, 0.1]
    full = batched_chi2(spec, rows, data)
    score = ranked_chi2(spec, rows, data, coarse=4, keep=0.1, min_keep=64)
    kept = np.isclose(score, full, rtol=1e-12, atol=0)
    assert kept.sum() == 512  # a tenth of the rows (150), rounded up to a whole block of 512
    assert np.all(score[~kept & np.isfinite(score)] > score[kept].max())
    assert list(np.argsort(score)[:20]) == list(np.argsort(full)[:20])
    coarse = every_nth(data, 4)
    assert coarse.t.shape[1] == data.t.shape[1] // 4
    np.testing.assert_array_equal(np.asarray(coarse.t)[0], np.asarray(data.t)[0, ::4])
