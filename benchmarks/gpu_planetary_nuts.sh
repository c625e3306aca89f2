#!/usr/bin/env bash
# Prepared GPU check for issue 4: NUTS on the planetary caustic crossing's finite-source mode
# (benchmarks/sample_planetary_map.py), from the MAP and Fisher frame computed beforehand on the CPU:
#   python benchmarks/sample_planetary_map.py --prepare .gpu/planetary_mode.pkl      # here, then carry .gpu
# Run from the repository root on the lent GPU node. Budget: NUTS_SECONDS; WARMUP, SAMPLES, DEPTH.
# Transitions are kept in $OUT/partial.npz as they are drawn (a run stopped by the budget keeps them).
set -u
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONPATH=$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import jax, numpyro; print('jax', jax.__version__, jax.devices(), 'numpyro', numpyro.__version__)"
t0=$(date +%s)
timeout "${NUTS_SECONDS:-540}" python3 benchmarks/sample_planetary_map.py --mode-file .gpu/planetary_mode.pkl \
  --warmup "${WARMUP:-60}" --samples "${SAMPLES:-100}" --max-tree-depth "${DEPTH:-4}" --partial "$OUT/partial.npz" \
  > "$OUT/nuts.log" 2>&1
echo "nuts rc=$? after $(( $(date +%s) - t0 )) s"
cp benchmarks/out/planetary_nuts.json "$OUT/" 2>/dev/null
grep -v -E "Warning|warn" "$OUT/nuts.log" | tail -60
