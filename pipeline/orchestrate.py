"""Fit a survey on a Dask cluster into the catalog (DESIGN.md §5.3).

``fit_survey_event`` is the task (it calls ``fit.fit_event``, which runs without Dask);
``submit`` maps it over the events not yet in the ledger, with deterministic keys
``fit-<event_id>-<config_hash>``, ``retries``, a bounded number of tasks in flight, and
writes each result into the catalog as it completes (``as_completed``; nothing is
gathered at the end). Worker environment (x64, thread limits, compilation cache) is
set before the worker starts (``worker_environment``), never inside a task.
"""
from __future__ import annotations

import os
import platform
import socket
import time
from dataclasses import asdict
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from . import schema
from .catalog import Catalog
from .fit import FitConfig, config_hash, datasets_from_survey, fit_event

__all__ = ["worker_environment", "local_cluster", "submit", "fit_survey_event", "compilations", "survey_events"]

_COMPILATIONS = {"n": 0, "installed": False}


def compilations() -> int:
    """XLA compilations in this process so far (counted through ``jax.monitoring``)."""
    if not _COMPILATIONS["installed"]:
        import jax

        def listener(event, duration, **kwargs):
            if event == "/jax/core/compile/backend_compile_duration":
                _COMPILATIONS["n"] += 1
        jax.monitoring.register_event_duration_secs_listener(listener)
        _COMPILATIONS["installed"] = True
    return _COMPILATIONS["n"]


def worker_environment(threads: int, *, platform_name: str | None = "cpu", cache_dir: str | None = None) -> dict:
    """Environment for JAX workers: float64, ``threads`` intra-op threads, a persistent compile cache."""
    env = {"JAX_ENABLE_X64": "1", "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads),
           "XLA_FLAGS": f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
                        f"intra_op_parallelism_threads={threads}"}
    cache_dir = cache_dir or os.environ.get("MICROJAX_SURVEY_CACHE", str(Path.home() / ".cache" / "microjax-survey"))
    if cache_dir.lower() != "off":  # the same persistent compilation cache as the command line's, every program in
        # it (the fit's many sub-second programs too): a worker loads what another compiled for the same
        # bucket (three 1L1S events on one bucket each: 29.0 s in a second process with the 1 s threshold, 19.1 s)
        env.update(JAX_COMPILATION_CACHE_DIR=cache_dir, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    if platform_name:
        env["JAX_PLATFORMS"] = platform_name
    if platform_name == "cuda":  # JAX takes 75% of the GPU at start otherwise: one client or second process and it fails
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
    return env


def local_cluster(n_workers: int | None = None, threads_per_worker: int = 1, *, dashboard_address=":8787",
                  processes: bool = True, env: dict | None = None, **kwargs):
    """The embedded default: a ``distributed.LocalCluster`` sized to the machine, JAX env set per worker."""
    from distributed import LocalCluster

    n_workers = n_workers or max(1, (os.cpu_count() or 1) // threads_per_worker)
    if processes:  # the environment reaches worker processes through their nanny, before they start
        kwargs["env"] = dict(worker_environment(threads_per_worker), **(env or {}))
    return LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=processes,
                        dashboard_address=dashboard_address, **kwargs)


def survey_events(survey_dir) -> tuple[list[int], dict]:
    """Event ids of a simulated (or RMDC26-style) survey and the per-event metadata rows."""
    from .simulate.survey import read_manifest

    root = Path(survey_dir)
    read_manifest(root)
    meta = pq.read_table(root / "meta", schema=schema.META).to_pandas()
    return meta["event_id"].astype(int).tolist(), {int(r.event_id): r._asdict() for r in meta.itertuples()}


def _event_obs(survey_dir, event_id):
    import pyarrow.dataset as pads

    d = pads.dataset(str(Path(survey_dir) / "obs"), schema=schema.OBS, format="parquet")
    return d.to_table(filter=pads.field("event_id") == int(event_id)).to_pandas()


def fit_survey_event(event_id: int, obs, config: FitConfig, provenance: dict):
    """The Dask task: fit one event's photometry; returns ``(solutions, posterior, info)`` Arrow tables + dict."""
    from distributed import get_worker

    start = compilations()
    try:
        worker = get_worker().address
    except ValueError:
        worker = socket.gethostname()
    extra = dict(provenance, worker=worker)
    datasets = datasets_from_survey(obs) if len(obs) else []
    result = fit_event(datasets, config, event_id=event_id, extra=extra)
    info = {"event_id": event_id, "worker": worker, "compilations": compilations() - start,
            "stages": {k: v for k, v in result.stages.items() if k.endswith("_s")}}
    return result.solutions, result.posterior, info


def _versions():
    out = {"python": platform.python_version()}
    for pkg in ("microjax-survey", "jax", "jaxlib", "numpyro", "dask", "distributed", "pyarrow", "pandas", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def submit(survey_dir, catalog_dir, client, *, config: FitConfig = FitConfig(), run_id: str | None = None,
           limit: int | None = None, retries: int = 2, max_in_flight: int | None = None, progress=None,
           on_start=None, attempt: int = 1) -> dict:
    """Fit every unfinished event of ``survey_dir`` into ``catalog_dir``; returns the run summary.

    ``progress``: optional object with ``update(n)`` and ``set_postfix_str(s)`` (a tqdm bar);
    ``on_start(n_already_done)`` is called once the ledger has been read.
    """
    from distributed import as_completed

    catalog = Catalog(catalog_dir)
    chash = config_hash(config)
    run_id = run_id or f"run-{chash}"
    event_ids, _ = survey_events(survey_dir)
    if limit is not None:
        event_ids = event_ids[:limit]
    done = catalog.finished(run_id)
    todo = [e for e in event_ids if e not in done]
    if on_start is not None:
        on_start(len(event_ids) - len(todo))
    version = _versions()["microjax-survey"] or "dev"
    provenance = {"run_id": run_id, "code_version": version, "config_hash": chash, "attempt": attempt}
    record = {"run_id": run_id, "survey": str(Path(survey_dir).resolve()), "config": asdict(config),
              "config_hash": chash, "versions": _versions(), "dashboard": client.dashboard_link,
              "scheduler": client.scheduler.address, "n_events": len(event_ids), "n_skipped": len(done & set(event_ids)),
              "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "status": "running",
              "host": socket.gethostname()}
    if catalog.root.joinpath("runs", f"{run_id}.json").exists():
        record["previous"] = catalog.run_record(run_id)
        record["previous"].pop("previous", None)
    from . import dashboard

    record["progress_page"] = dashboard.install(client)
    catalog.write_run(run_id, record)
    tic = time.perf_counter()
    workers = len(client.scheduler_info().get("workers", {})) or 1
    max_in_flight = max_in_flight or 4 * workers
    cfg_future = client.scatter(config, broadcast=True)
    pending = iter(todo)
    counts = {"ok": 0, "unconverged": 0, "failed": 0}
    health = {"r_hat_over_1_01": 0, "with_divergences": 0}
    per_worker: dict[str, dict] = {}
    stage_time = {"fit_s": 0.0, "write_s": 0.0}

    def launch():
        event_id = next(pending, None)
        if event_id is None:
            return None
        obs = _event_obs(survey_dir, event_id)
        return client.submit(fit_survey_event, event_id, obs, cfg_future, provenance,
                             key=f"fit-{event_id}-{chash}", retries=retries, pure=False)

    futures = as_completed([f for f in (launch() for _ in range(max_in_flight)) if f is not None])
    for future in futures:
        try:
            solutions, posterior, info = future.result()
        except Exception as exc:  # noqa: BLE001 - the task itself failed after all retries
            event_id = int(future.key.split("-")[1])
            solutions, posterior = _task_failure(event_id, exc, provenance), schema.POSTERIOR.empty_table()
            info = {"event_id": event_id, "worker": "", "compilations": 0, "stages": {}}
        w0 = time.perf_counter()
        entry = catalog.write_event(run_id, info["event_id"], solutions, posterior)
        stage_time["write_s"] += time.perf_counter() - w0
        stage_time["fit_s"] += float(np.nansum(solutions.column("wall_time_s").to_numpy(zero_copy_only=False)[:1]))
        counts[entry["status"]] += 1
        best = solutions.filter(solutions.column("is_best")).to_pylist()
        if best and (best[0]["r_hat_max"] or 0) >= 1.01:
            health["r_hat_over_1_01"] += 1
        if best and (best[0]["n_divergences"] or 0) > 0:
            health["with_divergences"] += 1
        dashboard.report(client, run_id, n_events=len(event_ids), counts=counts,
                         remaining=len(todo) - sum(counts.values()), elapsed_s=time.perf_counter() - tic, health=health)
        w = per_worker.setdefault(info["worker"], {"events": 0, "compilations": 0, "first_event": None,
                                                   "later_max": 0})
        w["events"] += 1
        w["compilations"] += info["compilations"]
        if w["first_event"] is None:
            w["first_event"] = info["compilations"]
        else:
            w["later_max"] = max(w["later_max"], info["compilations"])
        future.release()
        nxt = launch()
        if nxt is not None:
            futures.add(nxt)
        if progress is not None:
            progress.update(1)
            progress.set_postfix_str(", ".join(f"{k} {v}" for k, v in counts.items() if v))
    wall = time.perf_counter() - tic
    n = sum(counts.values())
    record.update(status="finished", finished_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  wall_time_s=wall, counts=counts, n_fitted=n, events_per_hour=3600 * n / wall if n else 0.0,
                  per_worker=per_worker, stage_time_s=stage_time)
    catalog.write_run(run_id, record)
    dashboard.report(client, run_id, n_events=len(event_ids), counts=counts, remaining=len(todo) - n,
                     elapsed_s=wall, health=health, status="finished")
    return record


def _task_failure(event_id, exc, provenance):
    import pyarrow as pa

    row = {c: None for c in schema.SOLUTIONS.names}
    row.update(event_id=int(event_id), solution_id=f"{event_id}-failed", model_type="", mode_label="failed",
               is_best=False, status="failed", error_msg=f"task failed after retries: {type(exc).__name__}: {exc}",
               **provenance)
    return pa.Table.from_pylist([row], schema=schema.SOLUTIONS)
