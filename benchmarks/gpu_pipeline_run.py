"""GPU batch of the survey pipeline (one LocalCluster worker, JAX_PLATFORMS=cuda, resources GPU=1) on the
demo survey; prints the run record and the solutions. Run on the GPU machine from the repository root:
    N_EVENTS=12 python benchmarks/gpu_pipeline_run.py     (SURVEY=DIR: fit that survey instead)
The gpu-node spec (`microjax-survey submit --cluster cluster/gpu-node.yaml`, benchmarks/gpu_check.sh)
is the user's path; this script is the fallback where dask-cuda cannot start.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))


def main():
    import json, os, time
    t0 = time.time()
    from workflows.runtime import configure
    configure(platform="cuda")
    import jax
    print("devices", jax.devices())
    from pipeline.simulate import write_survey
    n = int(os.environ.get("N_EVENTS", "12"))
    tic = time.time()
    import shutil; shutil.rmtree("/tmp/gcat", ignore_errors=True)
    survey = os.environ.get("SURVEY", "/tmp/gsurvey")
    if not os.path.exists(f"{survey}/manifest.json"):
        write_survey(survey, n, mix="1L1S=0.6,2L1S=0.2,planet=0.2", seed=2026, window="event")
    t_sim = time.time() - tic
    print(f"simulated {n} events on the GPU in {t_sim:.1f} s", flush=True)
    from distributed import Client
    from pipeline.orchestrate import local_cluster, submit
    from pipeline.fit import FitConfig, SamplerSettings
    cfg = FitConfig(max_modes=2, sampler=SamplerSettings(num_warmup=150, num_samples=200))
    env = {"JAX_PLATFORMS": "cuda", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    with local_cluster(1, 1, dashboard_address=":0", env=env, resources={"GPU": 1}) as cluster, Client(cluster) as client:
        rec = submit(survey, "/tmp/gcat", client, config=cfg, run_id="gpu")
    print(json.dumps({k: rec[k] for k in ("n_fitted", "counts", "wall_time_s", "events_per_hour", "per_worker", "stage_time_s")}, indent=1, default=str))
    from pipeline.catalog import Catalog
    sol = Catalog("/tmp/gcat").solutions("gpu").to_pandas()
    print(sol[["event_id", "mode_label", "status", "wall_time_s", "r_hat_max", "device"]].to_string())
    print("total", time.time() - t0)


if __name__ == '__main__':
    main()
