"""Cluster specs (``cluster/*.yaml``) -> Dask cluster objects (DESIGN.md §5.3).

A spec is data: ``kind`` is one of ``local`` (``distributed.LocalCluster``), ``slurm``
(``dask_jobqueue.SLURMCluster``), ``kubernetes`` (``dask_kubernetes.operator.KubeCluster``),
``gpu`` (``dask_cuda.LocalCUDACluster``, one worker per GPU with ``resources={"GPU": 1}``)
or ``scheduler`` (attach to ``address``). Every kind gets the JAX worker environment
(``orchestrate.worker_environment``) before its workers start.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from .orchestrate import worker_environment

__all__ = ["KINDS", "ClusterSpecError", "load_spec", "validate_spec", "make_cluster"]

KINDS = {
    "local": {"n_workers", "threads_per_worker", "dashboard_address", "memory_limit", "processes"},
    "slurm": {"threads_per_worker", "jobs", "adapt", "jobqueue"},
    "kubernetes": {"name", "image", "n_workers", "threads_per_worker", "resources", "adapt", "namespace"},
    "gpu": {"cuda_visible_devices", "threads_per_worker", "dashboard_address", "memory_limit"},
    "scheduler": {"address"},
}
EXTRAS = {"slurm": ("dask_jobqueue", "slurm"), "kubernetes": ("dask_kubernetes", "kubernetes"),
          "gpu": ("dask_cuda", "gpu")}


class ClusterSpecError(ValueError):
    """A cluster spec that cannot be used; the message names the file and the key."""


def validate_spec(spec: dict, source: str = "<spec>") -> dict:
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ClusterSpecError(f"{source}: a cluster spec is a mapping with a 'kind' key ({', '.join(KINDS)})")
    kind = spec["kind"]
    if kind not in KINDS:
        raise ClusterSpecError(f"{source}: kind {kind!r} is not one of {sorted(KINDS)}")
    unknown = set(spec) - KINDS[kind] - {"kind", "env"}
    if unknown:
        raise ClusterSpecError(f"{source}: unknown keys {sorted(unknown)} for kind {kind!r}; allowed: "
                               f"{sorted(KINDS[kind] | {'env'})}")
    for key in ("n_workers", "threads_per_worker", "jobs"):
        if key in spec and (not isinstance(spec[key], int) or spec[key] < 1):
            raise ClusterSpecError(f"{source}: {key} must be a positive integer, got {spec[key]!r}")
    if kind == "scheduler" and not str(spec.get("address", "")).startswith(("tcp://", "tls://", "ws://", "inproc://")):
        raise ClusterSpecError(f"{source}: address must be a scheduler URL like tcp://host:8786, "
                               f"got {spec.get('address')!r}")
    if kind == "slurm" and not isinstance(spec.get("jobqueue", {}), dict):
        raise ClusterSpecError(f"{source}: jobqueue must be a mapping of SLURMCluster arguments")
    return spec


def load_spec(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ClusterSpecError(f"{path}: no such cluster spec (see cluster/README.md)")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ClusterSpecError(f"{path}: not valid YAML ({exc})") from None
    return validate_spec(spec, str(path))


def _import(kind):
    module, extra = EXTRAS[kind]
    try:
        return __import__(module)
    except ImportError:
        raise ClusterSpecError(f"kind {kind!r} needs {module}: pip install 'microjax-survey[{extra}]'") from None


def make_cluster(spec: dict, *, scale: bool = True):
    """A cluster object for ``spec`` (``None`` for ``kind: scheduler`` — attach with ``Client(address)``).

    ``scale=False`` builds a SLURM/Kubernetes cluster object without asking for workers.
    """
    kind = spec["kind"]
    threads = int(spec.get("threads_per_worker", 1))
    env = dict(worker_environment(threads, platform_name="cuda" if kind == "gpu" else "cpu"), **spec.get("env", {}))
    if kind == "scheduler":
        return None
    if kind == "local":
        from .orchestrate import local_cluster
        kw = {k: spec[k] for k in ("memory_limit", "processes") if k in spec}
        return local_cluster(spec.get("n_workers"), threads, dashboard_address=spec.get("dashboard_address", ":8787"),
                             env=spec.get("env"), **kw)
    _import(kind)
    if kind == "slurm":
        from dask_jobqueue import SLURMCluster

        jq = dict(spec.get("jobqueue", {}))
        prologue = list(jq.pop("job_script_prologue", [])) + [f"export {k}='{v}'" for k, v in env.items()]
        cluster = SLURMCluster(job_script_prologue=prologue, **jq)
        if not scale:
            return cluster
        if "adapt" in spec:
            cluster.adapt(**spec["adapt"])
        else:
            cluster.scale(jobs=spec.get("jobs", 1))
        return cluster
    if kind == "kubernetes":
        from dask_kubernetes.operator import KubeCluster, make_cluster_spec

        cspec = make_cluster_spec(name=spec.get("name", "microjax-survey"), image=spec["image"],
                                  n_workers=spec.get("n_workers", 2), resources=spec.get("resources"), env=env)
        cluster = KubeCluster(custom_cluster_spec=cspec, namespace=spec.get("namespace"))
        if "adapt" in spec:
            cluster.adapt(**spec["adapt"])
        return cluster
    import dask
    from dask_cuda import LocalCUDACluster

    # dask-cuda replaces the nannies' ``env`` with its own CUDA_VISIBLE_DEVICES, so an ``env=`` argument never
    # reaches the workers (seen on an H100: float32 JAX, every fit failed); the nanny's ``environ`` config does,
    # set in the worker process before it runs anything (not ``pre-spawn-environ``: the nanny writes that
    # into this process's own environment, for good).
    with dask.config.set({"distributed.nanny.environ": dict(dask.config.get("distributed.nanny.environ", {}), **env)}):
        return LocalCUDACluster(CUDA_VISIBLE_DEVICES=spec.get("cuda_visible_devices"), threads_per_worker=threads,
                                dashboard_address=spec.get("dashboard_address", ":8787"), resources={"GPU": 1},
                                **({"memory_limit": spec["memory_limit"]} if "memory_limit" in spec else {}))
