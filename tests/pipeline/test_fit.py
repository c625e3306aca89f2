"""Fitting one event: likelihood algebra, binning, a simulated 1L1S event recovered, failures as rows."""
from dataclasses import replace

import numpy as np
import pytest

import microjax_core as mc
from pipeline import schema
from pipeline.fit import Dataset, FitConfig, SamplerSettings, fit_event
from pipeline.fit.binning import bin_dataset
from pipeline.simulate.survey import simulate_survey
from pipeline.fit.photometry import datasets_from_survey


def test_profiled_chi2_equals_least_squares():
    rng = np.random.default_rng(1)
    a = 1 + rng.exponential(size=200)
    err = rng.uniform(0.5, 2, 200)
    flux = 3 * a + 7 + rng.normal(size=200) * err
    mask = np.ones(200, bool)
    mask[-20:] = False
    # independent: numpy's weighted least squares on the unmasked rows
    design = np.stack([a, np.ones_like(a)], 1)[mask] / err[mask, None]
    sol, res, *_ = np.linalg.lstsq(design, flux[mask] / err[mask], rcond=None)
    np.testing.assert_allclose(mc.chi2_profiled(a, flux, err, mask), res[0], rtol=1e-10)
    np.testing.assert_allclose(mc.solve_fluxes(a, flux, err, mask), sol, rtol=1e-10)


def test_profiled_chi2_is_finite_when_the_magnification_is_constant():
    """A trajectory far from the lens (A = 1 everywhere) must give a finite chi^2 and gradient, not NaN."""
    import jax

    rng = np.random.default_rng(3)
    err = rng.uniform(0.5, 2, 100)
    flux = 5 + rng.normal(size=100) * err
    mask = np.ones(100, bool)
    w = 1 / err**2
    # independent: with A constant only fb = weighted mean flux is identifiable, chi^2 = sum w (f - mean)^2
    mean = np.sum(w * flux) / np.sum(w)
    np.testing.assert_allclose(mc.chi2_profiled(np.ones(100), flux, err, mask), np.sum(w * (flux - mean) ** 2),
                               rtol=1e-12)
    fs, fb = mc.solve_fluxes(np.ones(100), flux, err, mask)
    assert fs == 0 and np.isclose(fb, mean)
    grad = jax.grad(lambda a: mc.chi2_profiled(a, flux, err, mask))(np.ones(100))
    assert np.all(np.isfinite(np.asarray(grad)))


@pytest.mark.parametrize("true_blend", [-2.0, 4.0])
def test_blend_floor_equals_bounded_least_squares(true_blend):
    """fb >= 0: the same answer as SciPy's bounded linear least squares (active and inactive bound)."""
    from scipy.optimize import lsq_linear

    rng = np.random.default_rng(6)
    a = 1 + rng.exponential(size=150)
    err = rng.uniform(0.5, 2, 150)
    flux = 3 * a + true_blend + rng.normal(size=150) * err
    mask = np.ones(150, bool)
    design = np.stack([a, np.ones_like(a)], 1) / err[:, None]
    ref = lsq_linear(design, flux / err, bounds=([-np.inf, 0.0], [np.inf, np.inf]), tol=1e-14)
    np.testing.assert_allclose(mc.solve_fluxes(a, flux, err, mask, 0.0), ref.x, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(mc.chi2_profiled(a, flux, err, mask, 0.0), 2 * ref.cost, rtol=1e-8)
    if true_blend > 0:  # inactive bound: the free solution
        np.testing.assert_allclose(mc.chi2_profiled(a, flux, err, mask, 0.0), mc.chi2_profiled(a, flux, err, mask))


def test_marginal_likelihood_equals_gaussian_integral():
    rng = np.random.default_rng(2)
    n = 30
    a = 1 + rng.exponential(size=n)
    err = rng.uniform(0.5, 2, n)
    flux = 3 * a + 7 + rng.normal(size=n) * err
    prior = 20.0
    # independent: flux ~ N(0, diag(err^2) + prior^2 (a a^T + 1 1^T)) evaluated directly
    cov = np.diag(err**2) + prior**2 * (np.outer(a, a) + 1.0)
    sign, logdet = np.linalg.slogdet(cov)
    expected = -0.5 * (flux @ np.linalg.solve(cov, flux) + logdet + n * np.log(2 * np.pi))
    got = mc.log_likelihood_marginal(a, flux, err, np.ones(n, bool), prior)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_binning_keeps_chi2_differences():
    """Binning changes chi^2 by a model-independent constant (to well under 1) for smooth models."""
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(-20, 20, 4000))
    u0, te = 0.3, 8.0

    def pspl(t, u0, te):
        u2 = (t / te) ** 2 + u0**2
        return (u2 + 2) / np.sqrt(u2 * (u2 + 4))
    err = np.full(t.size, 2.0)
    flux = 100 * pspl(t, u0, te) + 50 + rng.normal(size=t.size) * err
    d = Dataset("d", "W149", t, flux, err)
    b = bin_dataset(d, 0.0, te, u0)
    assert len(b) < len(d) / 4

    def chi2(ds, u0_, te_):
        a = pspl(ds.t, u0_, te_)
        return float(mc.chi2_profiled(a, ds.flux, ds.flux_err, np.ones(len(ds), bool)))
    for u0_, te_ in ((0.31, 8.0), (0.3, 8.3), (0.28, 7.7)):
        delta_raw = chi2(d, u0_, te_) - chi2(d, u0, te)
        delta_bin = chi2(b, u0_, te_) - chi2(b, u0, te)
        assert abs(delta_raw - delta_bin) < 0.02 * abs(delta_raw) + 0.5


@pytest.fixture(scope="module")
def single_lens_event():
    obs, meta, truth = next(iter(simulate_survey(1, mix="1L1S=1", seed=12, window="event")))
    import pandas as pd
    return datasets_from_survey(pd.DataFrame(obs)), truth


def test_single_lens_recovered(single_lens_event):
    datasets, truth = single_lens_event
    res = fit_event(datasets, FitConfig(model="auto", sampler=SamplerSettings(num_warmup=200, num_samples=300)),
                    event_id=7)
    sol = res.solutions.to_pandas()
    assert list(sol.status) == ["ok"], sol.error_msg.tolist()
    best = sol.iloc[0]
    assert best.model_type == "1L1S" and best.is_best and best.r_hat_max < 1.01 and best.n_divergences == 0
    draws = res.posterior.to_pandas()
    for p, true in (("t0", truth["t0"]), ("tE", truth["tE"]), ("u0", abs(truth["u0"]))):
        lo, hi = np.quantile(draws[p], [0.025, 0.975])
        assert lo <= true <= hi, (p, lo, true, hi)
    assert res.solutions.schema.equals(schema.SOLUTIONS)
    assert res.posterior.schema.equals(schema.POSTERIOR)
    assert best.chi2 / best.n_data_points < 1.2


def test_a_later_event_of_the_same_bucket_compiles_nothing(single_lens_event):
    """NUTS is one compiled program per model, settings and bucket: a second event reuses it (0 compilations)."""
    from pipeline.fit.objective import pack
    from pipeline.fit.sample import run_nuts
    from pipeline.fit.search import point_lens_search
    from pipeline.orchestrate import compilations

    datasets, truth = single_lens_event
    rng = np.random.default_rng(5)
    other = [Dataset(d.name, d.band, d.t, d.flux + rng.normal(size=len(d)) * d.flux_err, d.flux_err)
             for d in datasets]  # another event of the same length: new noise
    settings = SamplerSettings(num_warmup=30, num_samples=30)
    first, second = pack(datasets), pack(other)
    assert first.t.shape == second.t.shape
    run_nuts(point_lens_search(first)[0], first, settings, seed=1)
    mode = point_lens_search(second)[0]
    before = compilations()
    post = run_nuts(mode, second, settings, seed=2)
    assert compilations() == before
    assert np.all(np.isfinite(post.draws["tE"])) and post.draws["tE"].shape == (2, 30)


def test_a_spent_sampling_budget_is_an_unconverged_row_with_its_reason(single_lens_event):
    """``sampling_budget_s``: a mode whose warm-up outlasts the budget gets a row (MAP, chi^2) marked
    ``unconverged`` with the reason, and no draws - the worker moves on to the next event."""
    datasets, _ = single_lens_event
    res = fit_event(datasets, FitConfig(model="1L1S", sampling_budget_s=0.0,
                                        sampler=SamplerSettings(num_warmup=30, num_samples=30)), event_id=8)
    sol = res.solutions.to_pandas()
    assert list(sol.status) == ["unconverged"] and np.isfinite(sol.tE_map[0]) and np.isfinite(sol.chi2[0])
    assert "sampling deadline passed in the warm-up (20 of 30 transitions" in sol.error_msg[0]
    assert "budget 0 s per mode" in sol.error_msg[0] and res.posterior.num_rows == 0


def test_what_follows_a_first_nuts_run():
    """The staged fit's rules after a mode's first run: continue slow chains, re-run divergent ones with a finer
    step, leave converged, depth-limited or budget-stopped ones alone."""
    from pipeline.fit.sample import Posterior
    from pipeline.fit.staged import divergence_rerun_settings, next_sampling_step

    def post(r_hat=1.0, div=0, steps=7.0, stopped=""):
        return Posterior({}, r_hat, 300.0, 300.0, div, 1.0, mean_steps=steps, stopped=stopped)

    config = FitConfig()  # max_tree_depth 6: at most 63 steps per draw
    assert next_sampling_step(post(), config) == ("", "")
    assert next_sampling_step(post(r_hat=1.03), config) == ("extend", "")
    assert next_sampling_step(post(r_hat=1.03, div=4), config) == ("rerun", "")
    assert next_sampling_step(post(div=1), config) == ("rerun", "")
    action, reason = next_sampling_step(post(div=2, steps=60.0), config)
    assert action == "" and "depth limit (60 steps per draw)" in reason
    assert next_sampling_step(post(r_hat=1.5, stopped="sampling deadline reached"), config) == ("", "")
    assert next_sampling_step(post(div=3), replace(config, extend_unconverged=False)) == ("", "")
    again = divergence_rerun_settings(config.sampler)
    assert again.target_accept_prob == pytest.approx(0.95)  # 0.85 -> a third of the rejection rate
    assert (again.num_warmup, again.num_samples) == (config.sampler.num_warmup, config.sampler.num_samples)


def test_divergent_chains_are_sampled_again_with_the_finer_step(single_lens_event, monkeypatch):
    """A first run with divergences (forced here) is replaced by the re-run's draws and diagnostics."""
    import pipeline.fit.staged as staged

    datasets, _ = single_lens_event
    calls, real = [], staged.run_nuts

    def recorded(mode, data, settings, **kw):
        post = real(mode, data, settings, **kw)
        calls.append((settings, post))
        return replace(post, n_divergences=5) if len(calls) == 1 else post

    monkeypatch.setattr(staged, "run_nuts", recorded)
    sampler = SamplerSettings(num_warmup=60, num_samples=40)
    sol = fit_event(datasets, FitConfig(model="1L1S", sampler=sampler), event_id=9).solutions.to_pandas()
    assert len(calls) == 2
    assert calls[1][0] == replace(sampler, target_accept_prob=pytest.approx(0.95))
    rerun = calls[1][1]
    assert sol.n_divergences[0] == rerun.n_divergences and sol.r_hat_max[0] == rerun.r_hat_max
    assert sol.n_samples[0] == 40


def _crossing_event(seed=2):
    """FSPL with u0 = 0.004 < rho = 0.012 (A_max ~ 2/rho), 12-minute cadence over 30 days (3,570 points)."""
    import pandas as pd

    from pipeline.simulate.survey import light_curve_model, observe

    t0, te, u0, rho = 2461885.5, 12.0, 0.004, 0.012
    t = 2461885.5 + np.arange(-15.0, 15.0, 12.1 / 1440)
    a = light_curve_model(t, dict(model_type="1L1S", t0=t0, tE=te, u0=u0, alpha=0.0, rho=rho))
    obs = dict(bjd=t, band=np.full(t.size, "W149"), **observe(1000.0 * a + 300.0, 66.9, np.random.default_rng(seed)))
    return datasets_from_survey(pd.DataFrame(obs)), dict(t0=t0, tE=te, u0=u0, rho=rho)


def test_a_source_crossing_the_lens_is_fitted_with_its_size():
    """The point-source fit (u0 ~ 1/A_max, tE short) must not trap the finite-source fit at rho -> 0 (it did from
    the start rho = u0 alone)."""
    from pipeline.fit.models import ModelSpec
    from pipeline.fit.objective import pack
    from pipeline.fit.search import point_lens_search
    from pipeline.fit.staged import finite_source_point_lens

    datasets, truth = _crossing_event()
    data = pack(datasets)
    pm = point_lens_search(data)[0]
    fs = finite_source_point_lens(pm, ModelSpec("1L1S", finite_source=True), data)
    assert abs(np.exp(fs.value("log_rho")) / truth["rho"] - 1) < 0.02
    assert abs(np.exp(fs.value("log_tE")) / truth["tE"] - 1) < 0.02
    assert fs.chi2 / data.n_points < 1.1 < pm.chi2 / data.n_points


def test_a_finite_source_single_lens_is_sampled_on_binned_data_and_covers_the_truth():
    """More than ``SAMPLE_BINNED_ABOVE`` points: the finite-source single lens is sampled on time-binned data
    (chi^2 and MAP from all points), and the truth lies inside its 95% intervals."""
    datasets, truth = _crossing_event()
    res = fit_event(datasets, FitConfig(model="1L1S", sampler=SamplerSettings(num_warmup=150, num_samples=200)),
                    event_id=5)
    sol = res.solutions.to_pandas().iloc[0]
    assert "finite-source" in sol.higher_order_effects and sol.status == "ok", sol.error_msg
    assert 100 < res.stages["sampled_binned"]["1L1S"] < 2000 < sol.n_data_points
    draws = res.posterior.to_pandas()
    for p in ("t0", "tE", "u0", "rho"):
        lo, hi = np.quantile(draws[p], [0.025, 0.975])
        assert lo <= truth[p] <= hi, (p, lo, truth[p], hi)


def test_bad_events_become_failed_rows():
    t = np.linspace(0, 10, 50) + 2461000
    nan = Dataset("d", "W149", t, np.full(50, np.nan), np.ones(50))
    res = fit_event([nan], FitConfig(), event_id=3)
    row = res.solutions.to_pylist()[0]
    assert row["status"] == "failed" and "non-finite flux" in row["error_msg"] and row["event_id"] == 3
    res = fit_event([], FitConfig(), event_id=4)
    assert res.solutions.to_pylist()[0]["status"] == "failed"
    with pytest.raises(ValueError, match="model='4L1S' is not one of"):
        FitConfig(model="4L1S")
    with pytest.raises(ValueError, match="parallax needs the event coordinates"):
        FitConfig(parallax=True)


def test_a_model_that_cannot_describe_the_data_is_not_sampled():
    """A periodic variable is no microlensing event: the 1L1S mode is reported unsampled, with the reason."""
    t = np.linspace(0, 60, 600) + 2461000
    flux = 100 + 20 * np.sin(2 * np.pi * t / 3.7)
    res = fit_event([Dataset("var", "W149", t, flux, np.full(t.size, 0.5))], FitConfig(model="1L1S"), event_id=9)
    row = res.solutions.to_pylist()[0]
    assert row["status"] == "unconverged" and row["error_msg"].startswith("not sampled: chi2/dof = ")
    assert row["t0_map"] is not None and row["r_hat_max"] is None and res.posterior.num_rows == 0


def test_error_bars_rescaled_to_unit_reduced_chi2(single_lens_event):
    """Errors reported 1.5x too small: ``rescale_errors`` finds k = 1.5 (the factor applied, known here)."""
    import json

    datasets, truth = single_lens_event
    shrunk = [Dataset(d.name, d.band, d.t, d.flux, d.flux_err / 1.5, d.time_note, d.source, dict(d.extra))
              for d in datasets]
    res = fit_event(shrunk, FitConfig(model="1L1S", rescale_errors=True,
                                      sampler=SamplerSettings(num_warmup=150, num_samples=200)), event_id=8)
    best = res.solutions.to_pandas().iloc[0]
    scales = {name: v[2] for name, v in json.loads(best.fluxes_json).items()}
    n = {d.name: len(d) for d in datasets}
    for name, k in scales.items():  # sampling error of sqrt(chi2/dof): 1/sqrt(2n)
        assert abs(k - 1.5) < 1.5 * 4 / np.sqrt(2 * n[name]), (name, k)
    assert res.stages["error_scales"] == pytest.approx(scales)
    assert 0.9 < best.chi2 / best.n_data_points < 1.1
    draws = res.posterior.to_pandas()
    lo, hi = np.quantile(draws["tE"], [0.025, 0.975])
    assert lo <= truth["tE"] <= hi


@pytest.mark.slow
def test_two_planet_event_recovered_as_3l1s():
    """Two planets around one star (point-source data, no caustic crossing): ``model="3L1S"`` finds both.

    The stronger anomaly (q = 3e-4) is found by the 2L1S search, the weaker (q = 1e-3, further
    from the track) from the 2L1S residuals. Checked on the MAP (the sampler is kept short):
    the two (separation, mass ratio) pairs, in either order, within 2% and 30% of the truth.
    """
    import jax.numpy as jnp

    t0, te, u0, alpha = 0.0, 20.0, 0.1, 0.3
    s, q, q3 = 1.34, 1e-3, 3e-4
    z1 = -s * q / (1 + q)
    d = complex(mc.source_trajectory(-0.27 * te, t0, te, u0, alpha)) + 0.06j - z1
    s13, psi = (abs(d) + np.sqrt(abs(d) ** 2 + 4)) / 2, float(np.angle(d))
    t = np.arange(-60, 60, 0.25 / 24)
    a = np.asarray(mc.point_source_magnification(mc.source_trajectory(jnp.asarray(t), t0, te, u0, alpha),
                                                 mc.TripleLens(s, q, s13, q3, psi)))
    fs, fb = 1000.0, 200.0
    err = 0.005 * np.sqrt((fs * a + fb) * (fs + fb))
    flux = fs * a + fb + np.random.default_rng(5).normal(size=t.size) * err
    res = fit_event([Dataset("W149", "W149", t + 2461000.0, flux, err, extra={"absolute": True})],
                    FitConfig(model="3L1S", max_modes=2, extend_unconverged=False,
                              sampler=SamplerSettings(num_warmup=30, num_samples=30, max_tree_depth=4)))
    sol = res.solutions.to_pandas()
    best = sol[sol.is_best].iloc[0]
    assert best.model_type == "3L1S", sol[["mode_label", "chi2"]]
    binary = sol[sol.model_type == "2L1S"].chi2.min()
    assert binary - best.chi2 > 1000 and best.chi2 / best.n_data_points < 1.2
    found = sorted([(best.s_map, best.q_map), (best.s13_map, best.q3_map)])
    for (sep, ratio), (sep_true, ratio_true) in zip(found, sorted([(s, q), (s13, q3)])):
        assert abs(sep / sep_true - 1) < 0.02 and abs(np.log(ratio / ratio_true)) < np.log(1.3), (found, s13)


@pytest.mark.parametrize("model_type", ["1L1S", "2L1S"])
def test_sampler_coordinates_round_trip_with_the_right_jacobian(model_type):
    """NUTS's coordinates: ``_to_sampler`` inverts ``_to_fit``, and ``ln|J|`` is the log-determinant of its Jacobian
    (computed independently by ``jax.jacfwd``), so priors stay uniform in the fit coordinates."""
    import jax
    import jax.numpy as jnp

    from pipeline.fit.models import ModelSpec
    from pipeline.fit.sample import _to_fit, _to_sampler, fit_coordinates

    spec = ModelSpec(model_type, finite_source=True)
    k = len(spec.names)
    lo, hi = -np.linspace(1, 2, k), np.linspace(3, 5, k)
    theta = lo + (hi - lo) * np.linspace(0.2, 0.8, k)
    if model_type == "1L1S":  # u0 moves as ln|u0|: its bounds are in ln u0
        theta[2] = np.exp(theta[2])
    y = _to_sampler(spec, theta, lo, hi)
    back, log_jac = _to_fit(spec, jnp.asarray(y), jnp.asarray(lo), jnp.asarray(hi))
    np.testing.assert_allclose(np.asarray(back), theta, rtol=1e-12)
    jac = jax.jacfwd(lambda v: _to_fit(spec, v, jnp.asarray(lo), jnp.asarray(hi))[0])(jnp.asarray(y))
    np.testing.assert_allclose(float(log_jac), np.linalg.slogdet(np.asarray(jac))[1], rtol=1e-12)
    # the draws' map (NumPy) is the sampler's (JAX): from whitened z with an identity frame
    frame = (lo, hi, y, np.eye(k))
    z = np.random.default_rng(0).normal(size=(3, k))
    expected = [np.asarray(_to_fit(spec, jnp.asarray(y + zi), jnp.asarray(lo), jnp.asarray(hi))[0]) for zi in z]
    np.testing.assert_allclose(fit_coordinates(spec, frame, z), expected, rtol=1e-13)


def test_continued_chains_keep_their_draws_and_go_on(single_lens_event):
    """``run_nuts(extend=...)`` continues the adapted chains: the first draws are the old ones, exactly, the new
    ones are new draws from the same posterior, and the recorded settings count both (warm-up unchanged)."""
    from pipeline.fit.objective import pack
    from pipeline.fit.sample import run_nuts
    from pipeline.fit.search import point_lens_search

    datasets, _ = single_lens_event
    data = pack(datasets)
    mode = point_lens_search(data)[0]
    settings = SamplerSettings(num_warmup=40, num_samples=30)
    first = run_nuts(mode, data, settings, seed=4)
    more = run_nuts(mode, data, settings, extend=first)
    assert more.draws["tE"].shape == (2, 60) and more.settings.num_samples == 60
    assert more.settings.num_warmup == 40
    np.testing.assert_array_equal(more.draws["tE"][:, :30], first.draws["tE"])
    new = more.draws["tE"][:, 30:]
    assert np.all(np.isfinite(new)) and not np.allclose(new, first.draws["tE"])
    assert np.all(np.abs(np.log(new / np.median(first.draws["tE"]))) < 0.5)  # still in the posterior's bulk


@pytest.mark.parametrize("sequential", [False, True])
def test_draw_progress_reports_every_transition_and_chunks_change_nothing(single_lens_event, sequential):
    """The listener sees each chain's transitions in order (warm-up included, a short last chunk too), the positions
    it is given are the draws ``run_nuts`` returns, and chunks of 8 give the same draws as one chunk of 100."""
    from pipeline.fit.objective import pack
    from pipeline.fit.sample import draw_progress, fit_coordinates, run_nuts, sampler_frame
    from pipeline.fit.search import point_lens_search

    datasets, _ = single_lens_event
    data = pack(datasets)
    mode = point_lens_search(data)[0]
    settings = SamplerSettings(num_warmup=20, num_samples=15, chunk=8)  # 35 = 4 x 8 + 3
    frame = sampler_frame(mode, data)
    seen = []
    with draw_progress(lambda c, i, z, n, div: seen.append((c, i, z, n, div))):
        post = run_nuts(mode, data, settings, seed=3, sequential=sequential, frame=frame)
    assert len(seen) == 2 * 35 and all(n >= 1 for *_, n, _ in seen)
    for c in (0, 1):
        mine = [x for x in seen if x[0] == c]
        assert [i for _, i, *_ in mine] == list(range(1, 36))
        theta = fit_coordinates(mode.spec, frame, np.array([z for _, i, z, *_ in mine if i > 20]))
        np.testing.assert_allclose(np.exp(theta[:, 1]), post.draws["tE"][c], rtol=1e-12)
    assert sum(div for _, i, *_, div in seen if i > 20) == post.n_divergences
    n_before = len(seen)
    whole = run_nuts(mode, data, replace(settings, chunk=100), seed=3, sequential=sequential, frame=frame)
    assert len(seen) == n_before  # no listener: nothing reported
    np.testing.assert_allclose(whole.draws["tE"], post.draws["tE"], rtol=1e-12)


def test_a_deadline_stops_the_chains_with_what_they_drew(single_lens_event):
    """Past the deadline the chains stop after the running chunk: the draws so far come back with ``stopped``
    saying so, or, still in the warm-up, ``SamplingBudgetExceeded``."""
    import time

    from pipeline.fit.objective import pack
    from pipeline.fit.sample import SamplingBudgetExceeded, run_nuts
    from pipeline.fit.search import point_lens_search

    datasets, _ = single_lens_event
    data = pack(datasets)
    mode = point_lens_search(data)[0]
    past = time.monotonic()
    post = run_nuts(mode, data, SamplerSettings(num_warmup=4, num_samples=30, chunk=10), seed=1, deadline=past)
    assert post.draws["tE"].shape == (2, 6) and post.settings.num_samples == 6
    assert post.stopped == "sampling deadline reached: 6 of 30 draws per chain"
    with pytest.raises(SamplingBudgetExceeded, match="10 of 20 transitions"):
        run_nuts(mode, data, SamplerSettings(num_warmup=20, num_samples=30, chunk=10), seed=1, deadline=past)
