"""The staged fit of one event (DESIGN.md §5.2) -> solution rows + posterior draws in the catalog schema.

``fit_event(datasets, config)`` runs without Dask (the pipeline only maps it):
(1) point-lens grid + L-BFGS; (2) anomaly check on the residuals; (3) for anomalous
events (``model="auto"``) or on request, a 2L1S search over ``(log s, log q, alpha)``
seeded by the anomaly, local optimisation of the best distinct starts and of each
mode's close/wide partner, modes kept within ``delta_chi2_window`` (2L1S stages run on
time-binned data, ``binning``); ``model="3L1S"``: a third body seeded from the best
binary's residual anomaly (``modes.triple_modes``), the best binary kept beside the triples;
with ``parallax``, each mode refitted with ``piE`` on both sides of the lens axis
(``modes.with_parallax``); (4) NUTS per kept mode (a finite-source single lens on more than
``SAMPLE_BINNED_ABOVE`` points on time-binned data, its MAP and chi^2 from all points); a mode
whose chains mix slowly (split R-hat >= 1.01, no divergences) has them continued for as many draws again, one with
divergences is sampled once more with a finer step size (``divergence_rerun_settings``; neither when its trees
already hit the depth limit: then the geometry, not the length, is the problem and the
reason goes in ``error_msg``); each mode's sampling stops at ``sampling_budget_s`` (row
``unconverged``, the draws so far); a mode with chi^2/dof > ``max_reduced_chi2`` not sampled (status
``unconverged``, the reason in ``error_msg``); (5) one row per mode with ``relative_probability`` (BIC weights),
chi^2 reported on the unbinned window. Any exception becomes a
``failed`` row (never a crash inside a batch).
"""
from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone

import jax
import jax.numpy as jnp
import numpy as np
import pyarrow as pa

from .. import schema
from .models import LOG_PARAMS, ModelSpec
from .binning import anomaly_intervals, bin_dataset
from .objective import batched_chi2, bucket, chi2_function, fluxes_function, pack
from .modes import binary_modes, triple_modes, with_parallax
from .photometry import Dataset
from .sample import SamplerSettings, SamplingBudgetExceeded, run_nuts
from .search import Mode, _peak_times, anomaly, optimise, point_lens_search, residuals

__all__ = ["FitConfig", "FitResult", "fit_event", "config_hash", "next_sampling_step", "divergence_rerun_settings"]

MODELS = ("auto", "1L1S", "2L1S", "3L1S")
SAMPLE_BINNED_ABOVE = 2000  # points above which a finite-source single lens is sampled on binned data


@dataclass(frozen=True)
class FitConfig:
    """Settings of the staged fit. ``model``: ``auto`` (1L1S, then 2L1S if the anomaly check fires) or one class.

    ``finite_source_2l1s``: refine 2L1S modes with a finite source (``magnification``'s
    point-source / multipole / ICRS tiers; Nelder-Mead on the value, NUTS with chains one
    after another) — accurate on caustic crossings but minutes per mode on a CPU; off, 2L1S
    modes use a point source. ``blend_floor``: the blend flux of a dataset on an absolute
    scale (magnitudes, the survey) is bounded ``fb >= 0``, which cuts the
    ``u0 -> large, fs -> large, fb -> negative`` direction of weak single-lens events (their
    curved u0-tE-fs ridge can still make NUTS diverge). ``rescale_errors``: multiply each
    dataset's errors by ``k = sqrt(chi2 / dof)`` of the point-lens fit outside the anomaly
    (fixed factors, as in Yee et al. 2012), before the anomaly check and every later stage;
    ``k`` is reported per dataset in ``fluxes_json``. ``sampling_budget_s``: wall seconds
    of NUTS per mode, its continuation included (``run_nuts(deadline=...)``): past it the
    chains stop and the mode's row is ``unconverged`` with the draws so far and the reason
    (no draws if the warm-up had not ended); ``None``: no limit.
    """

    model: str = "auto"
    parallax: bool = False
    ra: float | None = None
    dec: float | None = None
    t0_par: float | None = None
    finite_source_2l1s: bool = False
    blend_floor: bool = True
    rescale_errors: bool = False
    anomaly_delta_chi2: float = 50.0
    anomaly_z: float = 5.0
    delta_chi2_window: float = 100.0
    max_modes: int = 3
    n_starts: int = 8
    window_tE: float = 5.0
    search_points: int = 512
    extend_unconverged: bool = True
    max_reduced_chi2: float = 5.0
    sampling_budget_s: float | None = 600.0
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    seed: int = 0

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"model={self.model!r} is not one of {MODELS}")
        if self.parallax and (self.ra is None or self.dec is None):
            raise ValueError("parallax needs the event coordinates: ra and dec (degrees)")


def config_hash(config: FitConfig) -> str:
    text = json.dumps(asdict(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class FitResult:
    solutions: pa.Table
    posterior: pa.Table
    stages: dict


def _inside(t, intervals):
    out = np.zeros(t.shape, bool)
    for lo, hi in intervals:
        out |= (t >= lo) & (t <= hi)
    return out


def _subset(d, keep):
    """The rows ``keep`` of a dataset (its provenance and flags kept)."""
    return replace(d, t=d.t[keep], flux=d.flux[keep], flux_err=d.flux_err[keep], extra=dict(d.extra))


def _drop(d, intervals):
    return _subset(d, ~_inside(d.t, intervals))


def error_scales(mode: Mode, datasets, intervals, blend_floor: bool = True) -> np.ndarray:
    """Per dataset ``k = sqrt(chi2 / (n - 2 - p n / N))`` of ``mode`` outside ``intervals`` (``p``: model parameters).

    The factor that brings the dataset's reduced chi^2 to 1 (Yee et al. 2012, ApJ 755, 102).
    A dataset with fewer than 10 points outside the anomaly is measured on all its points;
    one with fewer than 10 points in all keeps ``k = 1``.
    """
    kept = [_drop(d, intervals) for d in datasets]
    n = np.array([len(d) for d in kept], float)
    if np.any(n < 10):
        kept = [d if len(d) >= 10 else orig for d, orig in zip(kept, datasets)]
        n = np.array([len(d) for d in kept], float)
    r = residuals(mode, pack(kept, blend_floor=blend_floor))
    chi2 = np.sum(r**2, axis=1)
    dof = np.maximum(n - 2 - len(mode.spec.names) * n / n.sum(), 1.0)
    return np.where(n >= 10, np.sqrt(chi2 / dof), 1.0)


def _scaled(d, k):
    return replace(d, flux_err=d.flux_err * k, extra=dict(d.extra, error_scale=k))


def _window(datasets, t0, te, intervals, k):
    half = max(k * te, 10.0)
    out = []
    for d in datasets:
        keep = (np.abs(d.t - t0) <= half) | _inside(d.t, intervals)
        if keep.sum() < 10:
            keep = np.ones_like(keep)
        out.append(_subset(d, keep))
    return out


def _thin(datasets, t_anomaly, limit):
    """At most ``limit`` points per dataset for the grid search: half near the anomaly, half elsewhere."""
    out = []
    for d in datasets:
        if len(d) <= limit:
            out.append(d)
            continue
        near = np.abs(d.t - t_anomaly) <= 1.5 if np.isfinite(t_anomaly) else np.zeros(len(d), bool)
        keep = np.zeros(len(d), bool)
        for part, share in ((np.flatnonzero(near), limit // 2), (np.flatnonzero(~near), limit - min(near.sum(), limit // 2))):
            if part.size:
                keep[part[:: int(np.ceil(part.size / share))]] = True
        out.append(_subset(d, keep))
    return out


def _solution_rows(event_id, modes, posts, datasets, data, config, chi2_1l, anomaly_dchi2, extra, skipped):
    n = data.n_points
    scores = np.array([m.chi2 + len(m.spec.names) * np.log(n) for m in modes])  # BIC
    prob = np.exp(-0.5 * (scores - scores.min()))
    prob /= prob.sum()
    best = int(np.argmin(scores))
    rows, draws = [], []
    for k, (m, post) in enumerate(zip(modes, posts)):
        sid = f"{event_id}-{m.label}-{k}"
        fs, fb, _ = fluxes_function(m.spec)(jnp.asarray(m.theta), data)
        fs, fb = np.asarray(fs), np.asarray(fb)
        row = {c: None for c in schema.SOLUTIONS.names}
        row.update(event_id=int(event_id), solution_id=sid, model_type=m.spec.model_type,
                   higher_order_effects=",".join(e for e, on in (("finite-source", m.spec.finite_source),
                                                                 ("parallax", m.spec.parallax)) if on),
                   mode_label=m.label, is_best=k == best, relative_probability=float(prob[k]),
                   chi2=m.chi2, n_data_points=n, log_likelihood=-0.5 * m.chi2,
                   delta_chi2_vs_1L1S=chi2_1l - m.chi2, anomaly_delta_chi2=anomaly_dchi2,
                   fluxes_json=json.dumps({d.name: [float(a), float(b), float(d.extra.get("error_scale", 1.0))]
                                           for d, a, b in zip(datasets, fs, fb)}))
        for d, a, b in zip(datasets, fs, fb):
            if d.band == "W149":
                row["fs_W149"], row["fb_W149"] = float(a), float(b)
        for name, v in zip(m.spec.names, m.theta):
            p = LOG_PARAMS.get(name, name)
            row[f"{p}_map"] = float(np.exp(v) if name in LOG_PARAMS else v)
        if m.spec.model_type == "1L1S" and not m.spec.parallax:
            row["u0_map"] = abs(row["u0_map"])
        status = "ok"
        if post is not None:
            for p, x in post.draws.items():
                q16, q50, q84 = np.quantile(x, [0.16, 0.5, 0.84])
                if p == "alpha":  # circular: quantiles about the MAP direction
                    ref = row["alpha_map"]
                    x = ref + np.angle(np.exp(1j * (x - ref)))
                    q16, q50, q84 = np.quantile(x, [0.16, 0.5, 0.84])
                row.update({f"{p}_median": float(q50), f"{p}_q16": float(q16), f"{p}_q84": float(q84)})
            row.update(r_hat_max=post.r_hat_max, ess_bulk_min=post.ess_bulk_min, ess_tail_min=post.ess_tail_min,
                       n_divergences=post.n_divergences, bfmi_min=post.bfmi_min,
                       n_warmup=post.settings.num_warmup, n_samples=post.settings.num_samples,
                       n_chains=post.settings.num_chains)
            if post.r_hat_max >= 1.01 or post.n_divergences > 0:
                status = "unconverged"
            shape = next(iter(post.draws.values())).shape
            chains, idx = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
            cols = {"event_id": np.full(chains.size, int(event_id)), "solution_id": [sid] * chains.size,
                    "run_id": [extra.get("run_id", "")] * chains.size,
                    "chain": chains.ravel().astype(np.int16), "draw": idx.ravel().astype(np.int32)}
            for p in schema.PARAMETERS:
                cols[p] = np.asarray(post.draws[p]).ravel() if p in post.draws else np.full(chains.size, np.nan)
            draws.append(schema.table(cols, schema.POSTERIOR))
        if k in skipped:
            status = "unconverged"
        row.update(status=status, error_msg=skipped.get(k, ""), **extra)
        rows.append(row)
    return rows, draws


def finite_source_point_lens(pm: Mode, fs_spec: ModelSpec, data, *, grid: bool = True) -> Mode:
    """The finite-source point lens from ``pm`` (a point-source fit): L-BFGS-B from the best ``rho`` of a ladder
    (1e-4 ... 0.3 and ``|u0|``) at ``pm``'s parameters, from ``rho = |u0|`` if ``|u0| <= 0.05``, and, with
    ``grid`` (``fit_event``: when the point-source fit left an anomaly), from a grid's best start.

    A source that crosses the lens (``u0 < rho``) flattens the peak to ``A ~ 2/rho``; the
    point-source fit then has ``u0 ~ 1/A_max`` and a shorter ``tE``, and a local optimiser
    started at ``rho = u0`` there slides to ``rho -> 0`` (the point-source optimum). The grid
    spans ``rho`` over [1e-4, 0.3] with smaller ``u0`` and longer ``tE`` (Gould 1994's
    ``u0 < rho`` regime); the best start and the plain one are optimised.
    """
    t0, log_te, u0 = pm.theta[:3]
    rest = pm.theta[3:]
    # rho from a ladder at the point-source parameters, and rho = |u0| (Gould 1994's u0 ~ rho) when |u0| is
    # small: from a large |u0| that start spent ~90% of its evaluations sliding rho down through sources
    # large enough that the quadrature runs on every point (14 s of a 20 s single-lens fit)
    ladder = np.array([np.r_[pm.theta[:3], np.log(rho), rest]
                       for rho in np.r_[np.geomspace(1e-4, 0.3, 12), np.clip(abs(u0), 1e-4, 0.3)]])
    chi = batched_chi2(fs_spec, ladder, data, block=16)
    starts = [ladder[int(np.nanargmin(chi))] if np.any(np.isfinite(chi)) else ladder[-1]]
    if abs(u0) <= 0.05:
        starts.append(ladder[-1])
    if grid:
        rows = np.array([np.r_[t0, log_te + np.log(ft), u0 * fu, np.log(rho), rest]
                         for rho in np.geomspace(1e-4, 0.3, 16) for fu in (1.0, 0.5, 0.1) for ft in (1.0, 1.25)])
        chi = batched_chi2(fs_spec, rows, data, block=16)  # the ladder's program
        if np.any(np.isfinite(chi)):
            starts.append(rows[int(np.nanargmin(chi))])
    return min((optimise(fs_spec, x, data) for x in starts), key=lambda m: m.chi2)


def _failed_row(event_id, message, extra):
    row = {c: None for c in schema.SOLUTIONS.names}
    row.update(event_id=int(event_id), solution_id=f"{event_id}-failed", model_type="", mode_label="failed",
               is_best=False, status="failed", error_msg=message[-2000:], **extra)
    return row


def _rows_table(rows):
    return pa.Table.from_pylist(rows, schema=schema.SOLUTIONS)


def divergence_rerun_settings(settings: SamplerSettings) -> SamplerSettings:
    """The sampler settings of a re-run after divergences: the same lengths, a third of the rejection rate
    (``target_accept_prob`` 0.85 -> 0.95), so the warm-up settles on a finer step size.

    Divergences in these whitened coordinates come from a step size too coarse for a curved
    region (Betancourt 2017, arXiv:1701.02434); a smaller step costs ~20% more leapfrog
    steps per draw (demo event 1: 11.6 -> 14.2), where the previous rule (twice the
    warm-up and the draws) cost twice the first run."""
    return replace(settings, target_accept_prob=1.0 - (1.0 - settings.target_accept_prob) / 3.0)


def next_sampling_step(post, config: FitConfig) -> tuple[str, str]:
    """What follows a mode's first NUTS run: ``("extend" | "rerun" | "", reason)``.

    ``extend``: slow mixing (split R-hat >= 1.01) without divergences; ``rerun``: divergences
    (``divergence_rerun_settings``); neither when the budget stopped the chains, when the
    trees already hit the depth limit (the geometry, not the length, is the problem: ``reason``
    says so), when the chains converged, or with ``config.extend_unconverged`` off."""
    if post.stopped:
        return "", ""
    unconverged = post.r_hat_max >= 1.01 or post.n_divergences > 0
    if unconverged and post.mean_steps >= 0.9 * (2 ** config.sampler.max_tree_depth - 1):
        return "", (f"NUTS trees at the depth limit ({post.mean_steps:.0f} steps per draw): "
                    "a poorly constrained or strongly curved posterior; not re-run")
    if not (unconverged and config.extend_unconverged):
        return "", ""
    return ("rerun" if post.n_divergences > 0 else "extend"), ""


def fit_event(datasets: list[Dataset], config: FitConfig = FitConfig(), *, event_id: int = 0,
              extra: dict | None = None, progress=None) -> FitResult:
    """Fit one event; never raises for bad data or numerical failure (a ``failed`` row instead).

    ``extra``: provenance columns (``run_id, device, worker, attempt, code_version,
    config_hash``); ``progress(stage: str)`` is called as stages start.
    """
    start = time.perf_counter()
    extra = dict(extra or {})
    extra.setdefault("config_hash", config_hash(config))
    extra.setdefault("created_utc", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    extra.setdefault("device", jax.devices()[0].platform)
    note = progress or (lambda stage: None)
    stages = {}
    try:
        if not datasets or sum(len(d) for d in datasets) < 10:
            raise ValueError(f"event {event_id}: fewer than 10 usable data points")
        for d in datasets:
            if not (np.all(np.isfinite(d.flux)) and np.all(np.isfinite(d.t)) and np.all(d.flux_err > 0)):
                raise ValueError(f"event {event_id}, dataset {d.name}: non-finite flux/time or non-positive errors")
        t0_par = config.t0_par
        note("point-lens search")
        tic = time.perf_counter()
        full = pack(datasets, blend_floor=config.blend_floor)
        point = point_lens_search(full)[0]
        an = anomaly(point, full)
        anomalous = an["delta_chi2"] >= config.anomaly_delta_chi2 and an["z"] >= config.anomaly_z
        intervals, seeds = [], [point]
        if anomalous:  # the point lens refitted without the anomaly seeds the binary search
            r = residuals(point, full)
            t_all = np.asarray(full.t)[np.asarray(full.mask)]
            intervals = anomaly_intervals(t_all, r[np.asarray(full.mask)])
            masked = [_drop(d, intervals) for d in datasets]
            if all(len(d) >= 50 for d in masked):
                seeds.append(point_lens_search(pack(masked, blend_floor=config.blend_floor))[0])
        if anomalous:  # and generic point-lens shapes about the brightest epoch (robust to bad 1L1S fits)
            t_peak = float(_peak_times(full, 1)[0])
            seeds += [Mode(point.spec, np.array([t_peak, np.log(te), 0.1]), np.nan) for te in (3.0, 10.0, 30.0)]
        ref = seeds[1] if len(seeds) > 4 else seeds[0]
        t0, te, u0 = float(ref.theta[0]), float(np.exp(ref.theta[1])), abs(float(ref.theta[2]))
        win = _window(datasets, t0, min(te, 60.0), intervals, config.window_tE)
        par = {}
        if config.parallax:
            t0_par = t0 if t0_par is None else t0_par
            par = dict(ra=config.ra, dec=config.dec, t0_par=t0_par)
        data = pack(win, blend_floor=config.blend_floor, **par)
        modes = point_lens_search(data, parallax=config.parallax)[:1]
        # finite source for the point lens where it lowers chi^2 by more than 10
        fs_spec = ModelSpec("1L1S", finite_source=True, parallax=config.parallax)
        pm = modes[0]
        fsm = finite_source_point_lens(pm, fs_spec, data, grid=anomalous)
        if fsm.chi2 < pm.chi2 - 10.0:
            fsm.label = "1L1S"
            modes = [fsm]
        if config.rescale_errors:
            scales = error_scales(modes[0], win, intervals, config.blend_floor)
            win = [_scaled(d, float(k)) for d, k in zip(win, scales)]
            data = pack(win, blend_floor=config.blend_floor, **par)
            modes = [optimise(modes[0].spec, modes[0].theta, data)]
            modes[0].label = "1L1S"
            pm = optimise(pm.spec, pm.theta, data) if modes[0].spec != pm.spec else modes[0]
            stages["error_scales"] = {d.name: float(k) for d, k in zip(win, scales)}
        an = anomaly(modes[0], data)
        anomalous = an["delta_chi2"] >= config.anomaly_delta_chi2 and an["z"] >= config.anomaly_z
        stages["point_lens_s"] = time.perf_counter() - tic
        fit_data = {id(m): data for m in modes}
        if config.model in ("2L1S", "3L1S") or (config.model == "auto" and anomalous):
            note("binary search")
            tic = time.perf_counter()
            binned = [bin_dataset(d, t0, te, u0, keep=intervals) for d in win]
            bdata = pack(binned, blend_floor=config.blend_floor)
            search = pack(_thin(binned, an["t"], config.search_points), size=bucket(config.search_points),
                          blend_floor=config.blend_floor)
            bmodes = binary_modes(seeds, bdata, search, an["t"], config)
            if config.model == "3L1S":  # a third body from the best binary's residuals; the binary kept to compare
                note("triple search")
                tmodes, best_binary = triple_modes(bmodes[0], bdata, search, config)
                bmodes = tmodes + [best_binary]
            if config.parallax:
                bdata = pack(binned, blend_floor=config.blend_floor, **par)
                bmodes = with_parallax(bmodes, bdata, config)
            stages["binary_search_s"] = time.perf_counter() - tic
            point_b = optimise(modes[0].spec, modes[0].theta, bdata)
            for m in bmodes:
                fit_data[id(m)] = bdata
            if config.model in ("2L1S", "3L1S"):
                modes = bmodes
            elif point_b.chi2 - bmodes[0].chi2 <= config.delta_chi2_window:
                modes = modes + bmodes
            else:
                modes = bmodes
        chi2_full = {id(m): float(chi2_function(m.spec)(jnp.asarray(m.theta), data)) for m in modes}
        chi2_1l = float(chi2_function(pm.spec)(jnp.asarray(pm.theta), data)) if modes[0].spec.model_type != "1L1S" \
            else chi2_full[id(modes[0])]
        tic = time.perf_counter()
        sample_chi2 = {id(m): m.chi2 for m in modes}  # chi^2 at the mode on the data each mode is sampled on
        for m in modes:  # a finite-source single lens samples on binned data (its gradient is ~20x cheaper there)
            if m.spec.finite_source and m.spec.model_type == "1L1S" and fit_data[id(m)].n_points > SAMPLE_BINNED_ABOVE:
                t0m, tem, u0m = float(m.theta[0]), float(np.exp(m.theta[1])), abs(float(m.theta[2]))
                fit_data[id(m)] = pack([bin_dataset(d, t0m, tem, u0m, keep=intervals) for d in win],
                                       blend_floor=config.blend_floor, **par)
                sample_chi2[id(m)] = float(chi2_function(m.spec)(jnp.asarray(m.theta), fit_data[id(m)]))
                stages.setdefault("sampled_binned", {})[m.label] = fit_data[id(m)].n_points
        posts, skipped = [], {}
        for k, m in enumerate(modes):
            # finite-source chains one by one: a vmap would turn the magnification's branches (tiers, the
            # FSPL's compact quadrature) into selects that compute every branch
            sequential = m.spec.finite_source
            d = fit_data[id(m)]
            reduced = sample_chi2[id(m)] / max(d.n_points - len(m.spec.names) - 2 * len(win), 1)
            if reduced > config.max_reduced_chi2:  # the model does not describe the data: no posterior to sample
                skipped[k] = (f"not sampled: chi2/dof = {reduced:.1f} > {config.max_reduced_chi2} at the mode "
                              "(a finite-source 2L1S fit, --finite-source-2l1s, may be needed)")
                posts.append(None)
                continue
            note(f"sampling {m.label}")
            budget = dict(deadline=None if config.sampling_budget_s is None
                          else time.monotonic() + config.sampling_budget_s)
            try:
                post = run_nuts(m, fit_data[id(m)], config.sampler, seed=config.seed + k, sequential=sequential,
                                **budget)
            except SamplingBudgetExceeded as exc:
                skipped[k] = f"not sampled: {exc} (budget {config.sampling_budget_s:.0f} s per mode)"
                posts.append(None)
                continue
            action, reason = next_sampling_step(post, config)
            if action == "extend":  # the chains go on for as many draws again (no new warm-up)
                post = run_nuts(m, fit_data[id(m)], config.sampler, sequential=sequential, extend=post, **budget)
            elif action == "rerun":  # warm up again towards a higher acceptance rate: a finer step size
                try:
                    post = run_nuts(m, fit_data[id(m)], divergence_rerun_settings(config.sampler),
                                    seed=config.seed + 100 + k, sequential=sequential, **budget)
                except SamplingBudgetExceeded:  # keep the first run's draws
                    skipped[k] = (f"{post.n_divergences} divergences; the re-run passed the budget of "
                                  f"{config.sampling_budget_s:.0f} s per mode in its warm-up")
            elif reason:
                skipped[k] = reason
            if post.stopped and k not in skipped:
                skipped[k] = f"{post.stopped} (budget {config.sampling_budget_s:.0f} s per mode)"
            posts.append(post)
        stages["sampling_s"] = time.perf_counter() - tic
        extra["wall_time_s"] = time.perf_counter() - start
        for m in modes:
            m.chi2 = chi2_full[id(m)]
        rows, draws = _solution_rows(event_id, modes, posts, win, data, config, chi2_1l, an["delta_chi2"], extra,
                                     skipped)
        posterior = pa.concat_tables(draws) if draws else schema.POSTERIOR.empty_table()
        stages.update(anomaly=an, n_window=data.n_points, bucket=int(data.t.shape[1]),
                      n_binned=bdata.n_points if "binary_search_s" in stages else None)
        return FitResult(_rows_table(rows), posterior, stages)
    except Exception as exc:  # noqa: BLE001 - a failed fit is a row, never a crashed batch
        extra["wall_time_s"] = time.perf_counter() - start
        msg = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-4)}"
        return FitResult(_rows_table([_failed_row(event_id, msg, extra)]), schema.POSTERIOR.empty_table(),
                         stages)
