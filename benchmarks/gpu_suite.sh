#!/usr/bin/env bash
# Every recipe's training speed on a GPU machine, in about 10 minutes: one prepared script so that
# a short loan of a GPU is spent measuring, not typing. Run from the repository root:
#
#   bash benchmarks/gpu_suite.sh [OUT_DIR]          # default OUT_DIR: gpu_suite_<date>
#
# Environment: WHEELS=DIR installs from a folder of wheels (machines without an index);
# SKIP_INSTALL=1 uses the current environment; STEPS (default 60) timed steps per contender;
# LIMIT (default 150) seconds per command before it is stopped and the suite moves on; BUDGET
# (default 540) seconds for the whole suite, install included: a row that would start with less
# than 30 s left is skipped, and each row's limit is cut to what is left, so the log is complete
# before a device loan's command limit (600 s) ends it.
# On a CPU (no GPU visible) it runs the same commands, which is how it is checked.
#
# What it measures (issue 29): `ganzoo bench train` for every model at its recipe's preset and
# batch; DCGAN against the keras-io reference at batch 64 and 256 with steps_per_execution 1, 4
# and 16 (the GPU step is host-bound); StyleGAN-lite with and without XLA (XLA:CPU runs its lazy
# R1 `tf.cond` ~80x slowly: this says whether XLA:GPU does, and times R1 on a slice of every batch
# instead, r1_schedule=sub_batch, which has no tf.cond); CycleGAN and SRGAN step rates; two
# replicas against one device on the tiny presets (tests/test_distribute.py on the GPU).
set -u
OUT=${1:-gpu_suite_$(date -u +%Y%m%dT%H%M)}
STEPS=${STEPS:-60}
LIMIT=${LIMIT:-150}
BUDGET=${BUDGET:-540}
mkdir -p "$OUT"
LOG="$OUT/suite.log"

say() { echo "$*" | tee -a "$LOG"; }

if [ -z "${SKIP_INSTALL:-}" ]; then
  # tensorflow[and-cuda] and tensorflow-cpu install the same files: never both (setup.py).
  pip uninstall -q -y tensorflow-cpu >/dev/null 2>&1 || true
  if [ -n "${WHEELS:-}" ]; then
    GANZOO_GPU=1 pip install -q --no-index --find-links "$WHEELS" -e ".[gpu,test]" 2>&1 | tail -3 | tee -a "$LOG"
  else
    GANZOO_GPU=1 pip install -q -e ".[gpu,test]" 2>&1 | tail -3 | tee -a "$LOG"
  fi
fi

say "# ganzoo GPU suite, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/# GPU: /' | tee -a "$LOG"
python -c "import tensorflow as tf, keras; print('# tensorflow', tf.__version__, 'keras', keras.__version__,
'GPUs', len(tf.config.list_physical_devices('GPU')))" 2>/dev/null | tee -a "$LOG"

# One `bench train` per row; a row that runs past LIMIT is recorded as such and the suite goes on.
# Seconds a command may take: LIMIT, or what is left of BUDGET if less (0: skip it).
allowed() {
  local scale=${1:-1} left=$((BUDGET - SECONDS))
  if [ $left -lt 30 ]; then echo 0; elif [ $left -lt $((scale * LIMIT)) ]; then echo $left; else echo $((scale * LIMIT)); fi
}

row() {
  local name=$1; shift
  say ""
  say "## $name: ganzoo bench train $*"
  local limit; limit=$(allowed)
  if [ "$limit" -eq 0 ]; then say "(skipped: the ${BUDGET} s budget is spent)"; return; fi
  local started=$SECONDS
  timeout "$limit" ganzoo bench train "$@" --steps "$STEPS" >"$OUT/$name.txt" 2>"$OUT/$name.err"
  local rc=$?
  cat "$OUT/$name.txt" >>"$LOG"
  if [ $rc -eq 124 ]; then say "(stopped after ${limit} s)"; elif [ $rc -ne 0 ]; then say "(failed, rc $rc: $(tail -1 "$OUT/$name.err"))"; fi
  say "(wall $((SECONDS - started)) s)"
}

for batch in 64 256; do
  for spe in 1 4 16; do
    row "dcgan_b${batch}_spe${spe}" dcgan --batch "$batch" --steps-per-execution "$spe"
  done
done
row "dcgan_b256_bf16" dcgan --batch 256 --mixed-precision mixed_bfloat16
row "stylegan_lite_64_xla" stylegan_lite --preset 64 --batch 32 --jit-compile --warmup 5
row "stylegan_lite_64_xla_sub_batch_r1" stylegan_lite --preset 64 --batch 32 --jit-compile --warmup 5 \
  --set model.overrides.r1_schedule=sub_batch
row "stylegan_lite_64_graph" stylegan_lite --preset 64 --batch 32 --no-jit-compile --warmup 5
row "cyclegan_64" cyclegan --preset 64 --batch 4 --warmup 5
row "srgan_x4" srgan --preset x4 --batch 16 --warmup 5
row "vanilla_mnist" vanilla --preset mnist --batch 64
row "cgan_mnist" cgan --preset mnist --batch 64
row "gan3d_32" gan3d --preset 32 --batch 32 --warmup 5

say ""
say "## two replicas against one device (tiny presets, the same six steps): tests/test_distribute.py"
limit=$(allowed 3)
if [ "$limit" -eq 0 ]; then
  say "(skipped: the ${BUDGET} s budget is spent)"
else
  timeout "$limit" python -m pytest -q -x -p no:cacheprovider tests/test_distribute.py >"$OUT/distribute.txt" 2>&1
  rc=$?
  say "$(tail -1 "$OUT/distribute.txt") (rc $rc$([ $rc -eq 124 ] && echo ', stopped'))"
fi
say ""
say "# done $(date -u '+%H:%M UTC'); rows in $OUT/*.txt"
