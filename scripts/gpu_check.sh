#!/usr/bin/env bash
# Every GPU figure of issue 12 in one run of about 6 minutes on a machine with one GPU, printed as
# one table (and written to $OUT/gpu_check.json):
#   - gan-cli's loop against a hand-written loop on the GPU (scripts/bench_throughput.py's cases)
#   - DCGAN 64x64 batch 256 and WGAN-GP 64x64: fp32, bf16, bf16 + channels-last + compile, img/s
#   - the default gan-train run's wall time, and FID-digits after a 5,000-step default run
#   - each model preset's img/s (bf16) at 64x64 and 128x128 (scripts/bench_models.py)
#   - the test suite with CUDA visible
#
# The GPU machine has torch, torchvision, tensorboard, scikit-learn and pytest, but not hydra-core,
# omegaconf or antlr4. Build their wheels and gan-cli's here (they are pure Python), then carry
# wheels/ to the machine with the repository:
#     scripts/gpu_check.sh --build-wheels
#     scripts/gpu_check.sh                    # on the GPU machine
# GPU_CHECK_QUICK=1 runs the same steps small and on the CPU: a smoke test of this script.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
QUICK=${GPU_CHECK_QUICK:-0}
PYTHON=${PYTHON:-python3}

if [[ "${1:-}" == "--build-wheels" ]]; then
    # The versions this environment runs (a pair that works together), else a known-good pair.
    version() { "$PYTHON" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || echo "$2"; }
    rm -rf wheels && mkdir -p wheels
    "$PYTHON" -m pip wheel -q --no-deps -w wheels "hydra-core==$(version hydra-core 1.3.8)" \
        "omegaconf==$(version omegaconf 2.3.1)" antlr4-python3-runtime==4.9.3 "pytest-timeout>=2.2" .
    ls wheels
    exit 0
fi

OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
if ! "$PYTHON" -c "import gan_cli.conf" 2>/dev/null; then
    [[ -d wheels ]] || { echo "no gan-cli installed and no wheels/: run scripts/gpu_check.sh --build-wheels first" >&2; exit 2; }
    "$PYTHON" -m pip install -q --no-deps --no-index wheels/*.whl
fi
BIN=$("$PYTHON" -c "import sys, sysconfig; print(sysconfig.get_path('scripts'))")
export PATH="$BIN:$PATH"

if [[ "$QUICK" == 1 ]]; then
    DEVICE=cpu; BENCH=(--device cpu --precisions --small --quick); STEPS=20; LONG=40; EVAL_SAMPLES=200
    TESTS=(tests/test_architecture.py tests/test_core.py); WORKERS=2
    MODEL_BENCH=(--resolutions 16 --steps 2 --models dcgan progan)
else
    DEVICE=cuda; BENCH=(--gpu); STEPS=1000; LONG=5000; EVAL_SAMPLES=2000
    TESTS=(tests); WORKERS=12
    MODEL_BENCH=(--resolutions 64 128 --steps 20 --extra trainer.precision=bf16)
fi
"$PYTHON" -c "import torch; print('torch', torch.__version__, '| CUDA:', torch.cuda.is_available() and torch.cuda.get_device_name())"
started=$(date +%s)

echo "== 1/5 throughput: gan-cli against a plain loop; precision and compile"
"$PYTHON" scripts/bench_throughput.py "${BENCH[@]}" --no-scaling --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log"

echo "== 2/5 the default run ($STEPS steps)"
t0=$(date +%s.%N)
(cd "$OUT" && gan-train trainer.device=$DEVICE trainer.steps=$STEPS hydra.run.dir="$OUT/default" > "$OUT/default.log" 2>&1)
t1=$(date +%s.%N)
echo "$t0 $t1" | awk '{printf "%.1f\n", $2 - $1}' > "$OUT/default_seconds"
tail -n 2 "$OUT/default.log"

echo "== 3/5 FID-digits after $LONG steps of the default run"
(cd "$OUT" && gan-train trainer.device=$DEVICE trainer.steps=$LONG trainer.sample_every=$LONG eval.every=$LONG \
    eval.num_samples=$EVAL_SAMPLES hydra.run.dir="$OUT/long" > "$OUT/long.log" 2>&1)
tail -n 2 "$OUT/long.log"

echo "== 4/5 each model's img/s (bf16) at 64x64 and 128x128"
(cd "$REPO" && "$PYTHON" scripts/bench_models.py --device $DEVICE "${MODEL_BENCH[@]}" --json "$OUT/models.json" \
    2>&1 | grep -v "^\[" | tee "$OUT/models.log" | tail -n 9)

echo "== 5/5 the test suite with CUDA visible"
# From outside the source tree, so that gan_cli (and gan_cli.conf) come from the installed wheel.
set +e
(cd "$OUT" && "$PYTHON" -m pytest -q -n $WORKERS -p no:cacheprovider --rootdir "$REPO" -c "$REPO/pyproject.toml" \
    "${TESTS[@]/#/$REPO/}" > "$OUT/tests.log" 2>&1)
echo $? > "$OUT/tests_status"
set -e
tail -n 3 "$OUT/tests.log"

"$PYTHON" - "$OUT" "$(( $(date +%s) - started ))" <<'EOF'
import json, sys
from pathlib import Path

out, seconds = Path(sys.argv[1]), sys.argv[2]
bench = json.loads((out / "bench.json").read_text())
metrics = json.loads((out / "long" / "metrics.json").read_text())
tests = (out / "tests.log").read_text().strip().splitlines()
rows = [("machine", bench["machine"])]
rows += [(f"loop / plain loop, {r['case']}", f"{r['ratio']:.3f} ({r['gan_cli_img_s']:.0f} / {r['plain_img_s']:.0f} img/s)")
         for r in bench["overhead"]]
rows += [(f"{r['case']}, {r['setting']}", f"{r['img_s']:,.0f} img/s") for r in bench.get("precisions", [])]
rows += [(f"{name} img/s (bf16)", f"{value:,.0f}") for name, value in json.loads((out / "models.json").read_text()).items()]
rows += [("default gan-train run, wall", f"{(out / 'default_seconds').read_text().strip()} s"),
         ("FID-digits after the long default run", f"{metrics.get('fid', float('nan')):.2f}"),
         ("test suite", f"{tests[-1] if tests else '?'} (exit {(out / 'tests_status').read_text().strip()})"),
         ("this check", f"{seconds} s")]
width = max(len(name) for name, _ in rows)
print("\n| what | measured |\n|---|---|")
for name, value in rows:
    print(f"| {name.ljust(width)} | {value} |")
(out / "gpu_check.json").write_text(json.dumps(dict(rows), indent=2))
EOF
