"""The survey pipeline on real Dask processes: LocalCluster end to end, a worker SIGKILLed mid-run,
a client killed mid-run and rerun, bad input. Every event must end in the catalog exactly once."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from pipeline.catalog import Catalog
from pipeline.simulate import write_survey

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--model", "1L1S", "--warmup", "60", "--samples", "60", "--chains", "2"]


@pytest.fixture(scope="module")
def env(compile_cache):
    """The subprocesses' environment (Dask workers started by hand get what a user would set)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), **compile_cache)
    # the scheduler's INFO log shows the worker's removal (an in-process ``configure`` may have set "warning")
    env.update(DASK_LOGGING__DISTRIBUTED="info", JAX_ENABLE_X64="1", JAX_PLATFORMS="cpu", OMP_NUM_THREADS="1",
               XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    return env


def _cli(env, *args, **kw):
    return subprocess.run([sys.executable, "-m", "workflows.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    out = tmp_path_factory.mktemp("survey") / "s"
    write_survey(out, 6, mix="1L1S=1", seed=5, window="event")
    # event 5 loses every flux (NaN): it must become a failed row, not a crash
    obs_dir = out / "obs"
    for part in obs_dir.glob("*.parquet"):
        t = pq.read_table(part).to_pandas()
        t.loc[t.event_id == 5, "flux"] = np.nan
        import pyarrow as pa
        from pipeline import schema
        pq.write_table(pa.Table.from_pandas(t, schema=schema.OBS, preserve_index=False), part)
    return out


def _check_once(catalog_dir, run_id, n):
    cat = Catalog(catalog_dir, create=False)
    ledger = cat.ledger(run_id)
    assert sorted(e["event_id"] for e in ledger) == list(range(n))
    sol = cat.solutions(run_id).to_pandas()
    assert sorted(sol.event_id.unique()) == list(range(n))
    assert not sol.solution_id.duplicated().any()
    assert set(sol.status) <= {"ok", "unconverged", "failed"}
    return sol


def test_local_cluster_end_to_end(survey, tmp_path, env):
    res = _cli(env, "submit", str(survey), "--catalog", str(tmp_path / "cat"), "--workers", "2", *FAST, timeout=900)
    assert "Dask dashboard:" in res.stdout, res.stdout + res.stderr
    sol = _check_once(tmp_path / "cat", "run-" + Catalog(tmp_path / "cat").run_ids()[0][4:], 6)
    assert sol.loc[sol.event_id == 5, "status"].tolist() == ["failed"]
    assert "fewer than 10 usable data points" in sol.loc[sol.event_id == 5, "error_msg"].iloc[0]
    assert (sol[sol.event_id != 5].status != "failed").all()
    assert res.returncode == 1  # a failed event is reported in the exit status
    # rerun: everything is skipped, nothing duplicated
    res2 = _cli(env, "submit", str(survey), "--catalog", str(tmp_path / "cat"), "--workers", "1", *FAST, timeout=600)
    assert "6 already in the catalog" in res2.stdout, res2.stdout + res2.stderr
    _check_once(tmp_path / "cat", Catalog(tmp_path / "cat").run_ids()[0], 6)
    mon = _cli(env, "monitor", str(tmp_path / "cat"), timeout=120)
    assert "6/6 done" in mon.stdout and "dashboard:" in mon.stdout, mon.stdout + mon.stderr
    q = _cli(env, "query", str(tmp_path / "cat"), "--where", "status == 'failed'", "--columns", "event_id", "status",
             "--format", "csv", timeout=120)
    assert q.stdout.split() == ["event_id,status", "5,failed"], q.stdout + q.stderr


def _start(env, cmd, log_path):
    with open(log_path, "a") as log:  # the child keeps its own descriptor
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _wait_for(predicate, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_worker_and_client_killed(survey, tmp_path, env):
    sched_file = tmp_path / "scheduler.json"
    log = tmp_path / "dask.log"
    procs = [_start(env, [sys.executable, "-m", "distributed.cli.dask_scheduler", "--scheduler-file", str(sched_file),
                     "--no-dashboard", "--host", "127.0.0.1", "--port", "0"], log)]
    try:
        _wait_for(sched_file.exists, 60, "the scheduler")
        time.sleep(1)
        import json
        address = json.loads(sched_file.read_text())["address"]
        workers = [_start(env, [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                           "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"], log) for _ in range(2)]
        procs += workers
        cat = tmp_path / "cat"
        args = [sys.executable, "-m", "workflows.cli", "submit", str(survey), "--catalog", str(cat), "--scheduler",
                address, "--run-id", "faults", *FAST]
        # 1) kill the client after the first event lands; the rerun finishes the rest
        client = _start(env, args, tmp_path / "client1.log")
        ledger = cat / "_ledger" / "run_id=faults"
        _wait_for(lambda: ledger.exists() and len(list(ledger.glob("*.json"))) >= 1, 600, "a first event")
        os.killpg(client.pid, signal.SIGKILL)
        client.wait()
        n_before = len(list(ledger.glob("*.json")))
        assert n_before < 6
        # 2) rerun; SIGKILL one worker once another event has landed
        client = _start(env, args, tmp_path / "client2.log")
        _wait_for(lambda: len(list(ledger.glob("*.json"))) >= n_before + 1 or client.poll() is not None, 600,
                  "progress after the rerun")
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait()
        assert client.wait(timeout=900) in (0, 1), (tmp_path / "client2.log").read_text()
        text = (tmp_path / "client2.log").read_text()
        assert f"{n_before} already in the catalog" in text, text
        _check_once(cat, "faults", 6)
        assert "Remove worker" in log.read_text()  # the scheduler saw the worker die
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def test_bad_input(tmp_path, survey, env):
    res = _cli(env, "submit", str(tmp_path / "nowhere"), "--catalog", str(tmp_path / "cat"), timeout=120)
    assert res.returncode == 2 and "no manifest.json" in res.stderr
    bad = tmp_path / "corrupt"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    res = _cli(env, "submit", str(bad), "--catalog", str(tmp_path / "cat"), timeout=120)
    assert res.returncode == 2 and "corrupt manifest" in res.stderr
    old = tmp_path / "oldcat"
    old.mkdir()
    (old / "catalog.json").write_text('{"schema_version": 0}')
    res = _cli(env, "submit", str(survey), "--catalog", str(old), timeout=120)
    assert res.returncode == 2 and "schema version 0" in res.stderr
    res = _cli(env, "submit", str(survey), "--catalog", str(tmp_path / "cat2"), "--scheduler", "tcp://127.0.0.1:1",
               timeout=120)
    assert res.returncode == 2 and "cannot reach the scheduler at tcp://127.0.0.1:1" in res.stderr
    res = _cli(env, "query", str(tmp_path / "nocat"), timeout=60)
    assert res.returncode == 2 and "no catalog.json" in res.stderr
