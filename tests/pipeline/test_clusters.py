"""Cluster specs: every shipped spec validates; bad specs are named; the local spec starts a real cluster."""
from pathlib import Path

import pytest

from pipeline.clusters import ClusterSpecError, load_spec, make_cluster, validate_spec

SPECS = Path(__file__).resolve().parents[2] / "cluster"


@pytest.mark.parametrize("name, kind", [("local", "local"), ("slurm", "slurm"), ("kubernetes", "kubernetes"),
                                        ("gpu-node", "gpu"), ("scheduler", "scheduler")])
def test_shipped_specs_validate(name, kind):
    assert load_spec(SPECS / f"{name}.yaml")["kind"] == kind


@pytest.mark.parametrize("spec, message", [
    ({}, "with a 'kind' key"),
    ({"kind": "yarn"}, "kind 'yarn' is not one of"),
    ({"kind": "local", "n_wrokers": 2}, "unknown keys ['n_wrokers']"),
    ({"kind": "local", "n_workers": 0}, "n_workers must be a positive integer"),
    ({"kind": "scheduler", "address": "localhost:8786"}, "address must be a scheduler URL"),
    ({"kind": "slurm", "jobqueue": ["cores", 4]}, "jobqueue must be a mapping"),
])
def test_bad_specs_are_named(spec, message):
    with pytest.raises(ClusterSpecError) as err:
        validate_spec(spec, "my.yaml")
    assert "my.yaml" in str(err.value) and message in str(err.value)


def test_bad_yaml_and_missing_file(tmp_path):
    (tmp_path / "x.yaml").write_text("kind: [local\n")
    with pytest.raises(ClusterSpecError, match="not valid YAML"):
        load_spec(tmp_path / "x.yaml")
    with pytest.raises(ClusterSpecError, match="no such cluster spec"):
        load_spec(tmp_path / "none.yaml")


def test_optional_backends_say_what_to_install():
    for kind, extra in (("slurm", "slurm"), ("kubernetes", "kubernetes"), ("gpu", "gpu")):
        try:
            __import__({"slurm": "dask_jobqueue", "kubernetes": "dask_kubernetes", "gpu": "dask_cuda"}[kind])
            continue  # installed here: nothing to check without a live system
        except ImportError:
            pass
        spec = {"kind": kind, "image": "x"} if kind == "kubernetes" else {"kind": kind}
        with pytest.raises(ClusterSpecError, match=rf"microjax-survey\[{extra}\]"):
            make_cluster(spec)


def test_local_spec_starts_a_cluster_with_the_jax_environment():
    from distributed import Client

    spec = dict(load_spec(SPECS / "local.yaml"), n_workers=1, dashboard_address=":0")
    with make_cluster(spec) as cluster, Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 1
        env = cluster.worker_spec[0]["options"]["env"]
        assert env["JAX_ENABLE_X64"] == "1" and "intra_op_parallelism_threads=1" in env["XLA_FLAGS"]


def test_slurm_spec_builds_a_job_script_with_the_jax_environment():
    pytest.importorskip("dask_jobqueue")
    spec = load_spec(SPECS / "slurm.yaml")
    # the scheduler on a free port: a dashboard already on 8787 (any Dask cluster on this machine) is a warning,
    # an error under this suite's settings
    spec["jobqueue"] = dict(spec["jobqueue"], scheduler_options={"dashboard_address": ":0"})
    cluster = make_cluster(spec, scale=False)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH" in script and "export JAX_ENABLE_X64='1'" in script
    assert "intra_op_parallelism_threads=4" in script and "source ~/venvs/microjax-survey/bin/activate" in script


def test_gpu_spec_reaches_the_workers_although_dask_cuda_replaces_their_env(monkeypatch):
    """dask-cuda's LocalCUDACluster gives each nanny ``env={"CUDA_VISIBLE_DEVICES": ...}`` of its own, dropping an
    ``env=`` argument (seen on an H100: workers without JAX_ENABLE_X64, every fit failed). A stand-in that does the
    same, on real worker processes: the JAX environment must still reach them."""
    import os
    import sys
    import types

    from distributed import Client, LocalCluster

    class CUDAClusterStandIn(LocalCluster):
        def __init__(self, CUDA_VISIBLE_DEVICES=None, threads_per_worker=1, dashboard_address=":0", **kwargs):
            super().__init__(n_workers=1, threads_per_worker=threads_per_worker, dashboard_address=":0",
                             env={"CUDA_VISIBLE_DEVICES": CUDA_VISIBLE_DEVICES or "0"}, **kwargs)

    monkeypatch.setitem(sys.modules, "dask_cuda", types.SimpleNamespace(LocalCUDACluster=CUDAClusterStandIn))
    ours = dict(os.environ)
    with make_cluster(load_spec(SPECS / "gpu-node.yaml")) as cluster, Client(cluster) as client:
        env = client.run(lambda: {k: os.environ.get(k) for k in ("JAX_ENABLE_X64", "JAX_PLATFORMS",
                                                                  "XLA_PYTHON_CLIENT_PREALLOCATE",
                                                                  "CUDA_VISIBLE_DEVICES")})
        assert list(env.values()) == [{"JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cuda",
                                       "XLA_PYTHON_CLIENT_PREALLOCATE": "false", "CUDA_VISIBLE_DEVICES": "0"}]
        assert client.run(lambda dask_worker: dask_worker.state.total_resources) == {
            next(iter(env)): {"GPU": 1}}
    # and none of it leaks into this (the client's) process: a command run from here later must not get
    # JAX_PLATFORMS=cuda on a machine without a GPU (seen: the CLI tests after this one failed)
    assert {k: os.environ.get(k) for k in ("JAX_PLATFORMS", "XLA_FLAGS", "JAX_ENABLE_X64")} == {
        k: ours.get(k) for k in ("JAX_PLATFORMS", "XLA_FLAGS", "JAX_ENABLE_X64")}
