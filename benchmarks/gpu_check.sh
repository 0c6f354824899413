#!/usr/bin/env bash
# The GPU device check, under 5 minutes on one H100/H200-class GPU:
#   1. the CUDA-marked tests (pytest -m cuda: Philox bits on CUDA = CPU, a population trained
#      on CUDA = on the CPU, no host synchronisation inside the epoch loop);
#   2. the population trainer timed at 1,024, 16,384 and 65,536 members (H = 5) and 4,096
#      (H = 200): member-epochs/s and peak GPU memory (benchmarks/gpu_scale.py);
#   3. the quick preset end to end with --device cuda (skip with GPU_CHECK_QUICK=0).
# Usage, from anywhere:  benchmarks/gpu_check.sh            (PYTHON=... picks the interpreter)
# Prints one JSON object on stdout (progress on stderr); exits 2 at once without a GPU, 1 if a
# step failed. Each step has its own time limit (70 + 120 + 90 s): at worst 280 s in all, so
# that one run fits a 5-minute device lease with its start-up.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"   # this checkout's gancheck, not an installed one

if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "gpu_check: no CUDA GPU visible to torch (torch.cuda.is_available() is False); nothing run" >&2
    exit 2
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
start=$SECONDS

echo "== 1/3 CUDA-marked tests" >&2
timeout 70 "$PYTHON" -m pytest -m cuda -n 0 -q -p no:cacheprovider tests >&2
tests_rc=$?

echo "== 2/3 population trainer at scale" >&2
timeout 120 "$PYTHON" benchmarks/gpu_scale.py --device cuda --budget-s 75 > "$scratch/scale.json"
scale_rc=$?
[ -s "$scratch/scale.json" ] || echo null > "$scratch/scale.json"

quick_rc=-1 quick_s=0
if [ "${GPU_CHECK_QUICK:-1}" != 0 ]; then
    echo "== 3/3 quick preset with --device cuda" >&2
    quick_start=$SECONDS
    timeout 90 "$PYTHON" -m experiments.ablate --preset quick --device cuda --workers 4 --no-progress \
        --out "$scratch/quick" >&2
    quick_rc=$? quick_s=$((SECONDS - quick_start))
fi

"$PYTHON" - "$scratch/scale.json" "$tests_rc" "$scale_rc" "$quick_rc" "$quick_s" "$((SECONDS - start))" <<'PY'
import json, sys
scale, tests, scale_rc, quick, quick_s, wall = sys.argv[1], *map(int, sys.argv[2:])
with open(scale) as f:
    timing = json.loads(f.read().strip().splitlines()[-1])
status = lambda rc: {0: "passed", -1: "skipped", 124: "timed out"}.get(rc, f"failed (exit {rc})")  # noqa: E731
print(json.dumps({"cuda_tests": status(tests), "timing_status": status(scale_rc), "timing": timing,
                  "quick_preset": status(quick), "quick_preset_s": quick_s, "wall_s": wall}, indent=1))
PY
[ "$tests_rc" = 0 ] && [ "$scale_rc" = 0 ] && { [ "$quick_rc" = 0 ] || [ "$quick_rc" = -1 ]; }
