#!/usr/bin/env bash
# The GPU checks, in one run on a machine with an NVIDIA GPU (its own python3 with CUDA torch):
# the CUDA training-loop test, the unit suite with the CUDA backend added, then the two GPU
# benchmarks on a quiet machine (after the tests, not beside them). Logs and JSON go to $OUT.
# Usage: OUT=/some/dir bash benchmarks/gpu/run_checks.sh   (PY=python3, WORKERS=12 by default;
# TESTS_ONLY=1 stops after the tests)
set -u
PY=${PY:-python3}
OUT=${OUT:?set OUT to a folder for the logs}
WORKERS=${WORKERS:-12}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT/json"
if [ -d .whl ]; then   # packages that machine lacks, carried as wheels
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  $PY -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__, torch.cuda.get_device_name())"
  nproc; uptime; } > "$OUT/machine.txt" 2>&1
# pytest-benchmark is installed there and disables itself under xdist with a warning per worker.
PYTEST="$PY -m pytest -p no:benchmark -p no:cacheprovider"
# 1. The loop that must never synchronise, first and alone.
timeout 120 $PYTEST -q -rA tests/test_cuda.py > "$OUT/test_cuda.log" 2>&1
echo "test_cuda rc=$?" >> "$OUT/machine.txt"
# 2. The unit suite; the widget tests need ipywidgets and IPython, which that machine lacks.
timeout 240 $PYTEST -n "$WORKERS" -q -rfE --durations=10 --doctest-modules \
  --ignore=tests/test_widgets.py --ignore=tests/test_static_slider.py \
  -k "not book" nnbook tests > "$OUT/unit.log" 2>&1
echo "unit rc=$?" >> "$OUT/machine.txt"
[ -n "${TESTS_ONLY:-}" ] && exit 0
# 3. The benchmarks, one after the other on the now idle machine.
uptime >> "$OUT/machine.txt"
(cd benchmarks && timeout 120 $PY bench_scale.py --device cuda --out "$OUT/json") > "$OUT/bench_scale.log" 2>&1
echo "bench_scale rc=$?" >> "$OUT/machine.txt"
timeout 100 $PY benchmarks/gpu_training_fast.py --device cuda --out "$OUT/json" > "$OUT/training_fast.log" 2>&1
echo "training_fast rc=$? $(uptime)" >> "$OUT/machine.txt"
