#!/usr/bin/env bash
# Prepared GPU check for issues 4 and 3, run from the repository root on the lent GPU node:
#   1. the planetary caustic-crossing event fitted end to end with finite-source 2L1S modes
#      (benchmarks/bench_recovery.py --cases planetary --finite-source): point-lens search, binary
#      search, Nelder-Mead refinement with ICRS, NUTS (reverse-mode gradient, chains one after another);
#   2. beside it, the reverse-mode gradient of the finite-source light curves (uniform source):
#      bench_finite_source.py --parts curves --sources uniform, errors against VBMicrolensing curves
#      computed beforehand on the CPU (.gpu/vb_ref.npz, carried; the node has no VBMicrolensing).
# Budgets (seconds): FIT_SECONDS, FS_SECONDS. Logs and JSON go to $OUT (or /tmp/gpu-check).
set -u
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false BENCH_TIMING_LOCK=/tmp/gpu-timing.lock PYTHONPATH=$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import jax, numpyro; print('jax', jax.__version__, jax.devices(), 'numpyro', numpyro.__version__)"
t0=$(date +%s)
timeout "${FS_SECONDS:-420}" python3 benchmarks/bench_finite_source.py --parts curves --sources uniform \
  --vb-cache .gpu/vb_ref.npz --no-vb-timing --json-name fs_gpu_grad > "$OUT/fs_grad.log" 2>&1 &
timeout "${FIT_SECONDS:-480}" python3 benchmarks/bench_recovery.py --cases planetary --finite-source \
  --warmup 150 --samples 200 --max-modes "${MAX_MODES:-1}" --json-name recovery_gpu > "$OUT/recovery.log" 2>&1
echo "recovery rc=$? after $(( $(date +%s) - t0 )) s"
wait
echo "all done after $(( $(date +%s) - t0 )) s"
cp benchmarks/out/fs_gpu_grad.json benchmarks/out/recovery_gpu.json "$OUT/" 2>/dev/null
grep -h "^{" "$OUT/fs_grad.log"; tail -5 "$OUT/fs_grad.log"
grep -v -E "Warning|warn" "$OUT/recovery.log" | tail -40
