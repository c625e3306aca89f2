#!/usr/bin/env bash
# One prepared GPU check (issues 3 and 6), run from the repository root on the lent GPU node:
#   1. finite-source light curves (benchmarks/bench_finite_source.py): the per-curve table and the
#      gradient (one process) and many events per call, magnification_batch vs vmap (another
#      process); the two compile side by side, their timed calls take turns (BENCH_TIMING_LOCK);
#      errors against VBMicrolensing curves computed beforehand on the CPU (.gpu/vb_ref.npz);
#   2. the survey pipeline through the real command line on the gpu-node spec
#      (`microjax-survey submit SURVEY --cluster cluster/gpu-node.yaml`: dask-cuda's
#      LocalCUDACluster, one worker per GPU), then `monitor`.
# Needs (both git-ignored, carried to the node): .whl/ (dask, distributed, dask-cuda and their small
# dependencies as wheels; the node has JAX, numpyro, pandas, pyarrow) and .gpu/, made on the CPU first:
#   python benchmarks/bench_finite_source.py --parts curves --no-grad --vb-cache .gpu/vb_ref.npz
#   microjax-survey simulate --events 12 --mix 1L1S=0.6,2L1S=0.2,planet=0.2 --seed 2026 --window event \
#     --out .gpu/survey12
# Budgets (seconds): FS_SECONDS, PIPELINE_SECONDS. Logs go to $OUT (or /tmp/gpu-check).
set -u
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false BENCH_TIMING_LOCK=/tmp/gpu-timing.lock
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
  .whl/dask-*.whl .whl/distributed-*.whl .whl/dask_cuda-*.whl .whl/tornado-*.whl .whl/partd-*.whl \
  .whl/locket-*.whl .whl/tblib-*.whl .whl/zict-*.whl 2>&1 | tail -2
export PYTHONPATH=$PWD:/tmp/site
python3 -c "import jax, numpyro, distributed, dask_cuda; print('jax', jax.__version__, jax.devices(), 'numpyro', numpyro.__version__, 'distributed', distributed.__version__, 'dask_cuda', dask_cuda.__version__)"

t0=$(date +%s)
timeout "${FS_SECONDS:-270}" python3 benchmarks/bench_finite_source.py --parts curves --vb-cache .gpu/vb_ref.npz \
  --no-vb-timing --json-name fs_gpu_curves > "$OUT/fs_curves.log" 2>&1 &
timeout "${FS_SECONDS:-270}" python3 benchmarks/bench_finite_source.py --parts events --events 64 \
  --event-modes batch256:ld,batch256:uni,vmap:uni,batch1024:ld --json-name fs_gpu_events > "$OUT/fs_events.log" 2>&1 &
wait
echo "finite-source part: $(( $(date +%s) - t0 )) s"
cp benchmarks/out/fs_gpu_*.json "$OUT/" 2>/dev/null
grep -h "^{" "$OUT"/fs_*.log

t0=$(date +%s)
timeout "${PIPELINE_SECONDS:-270}" python3 -m workflows.cli submit .gpu/survey12 --catalog /tmp/gcat \
  --cluster cluster/gpu-node.yaml --warmup 150 --samples 200 --run-id gpu > "$OUT/pipeline.log" 2>&1
rc=$?; echo "submit rc=$rc after $(( $(date +%s) - t0 )) s"
if [ $rc -ne 0 ] && [ $(( $(date +%s) - t0 )) -lt 60 ]; then  # dask-cuda did not start: plain LocalCluster, GPU env
  grep -v -E "^INFO" "$OUT/pipeline.log" | tail -15
  rm -rf /tmp/gcat; SURVEY=.gpu/survey12 timeout "${PIPELINE_SECONDS:-270}" python3 benchmarks/gpu_pipeline_run.py \
    > "$OUT/pipeline_fallback.log" 2>&1; echo "fallback rc=$?"; grep -v -E "^INFO" "$OUT/pipeline_fallback.log" | tail -30
fi
grep -v -E "^(INFO|\s*$)|distributed\.|Warning" "$OUT/pipeline.log" | tail -40
python3 -m workflows.cli monitor /tmp/gcat --run-id gpu 2>&1 | tail -40
python3 -m workflows.cli query /tmp/gcat --columns event_id mode_label model_type status wall_time_s r_hat_max \
  device worker 2>&1 | tail -30
