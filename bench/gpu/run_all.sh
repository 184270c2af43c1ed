#!/usr/bin/env bash
# The GPU training benchmarks in stages (bench/gpu/README.md has the runbook):
#
#   bash bench/gpu/run_all.sh                    # every stage, in order (about 35 minutes on one H100)
#   bash bench/gpu/run_all.sh tests gpt2         # chosen stages (each fits a 10-minute device call)
#
# stages:  tests      the gpu-marked tests: no host sync in a CUDA step, every switch on and harmless
#          gpt2       GPT-2 small with netspec's defaults: the acceptance numbers
#          resnet50   ResNet-50 with netspec's defaults: the acceptance numbers
#          variants1  what compile and the non-finite check cost (gpt2/resnet50 eager, gpt2 nonfinite every 100)
#          variants2  the other switches (vocabulary padding, batch 32, cuDNN attention, NCHW, CUDA graphs, autotune)
#
# Results go to $RESULTS_DIR (default bench/gpu/results: one JSON per run, and run_all.log) and
# sections to $RESULTS_MD (default bench/RESULTS.md). A failed step is logged; the rest still runs.
set -u
cd "$(dirname "$0")/../.."
RESULTS_DIR=${RESULTS_DIR:-bench/gpu/results}
RESULTS_MD=${RESULTS_MD:-bench/RESULTS.md}
mkdir -p "$RESULTS_DIR"
LOG="$RESULTS_DIR/run_all.log"
export PYTHONUNBUFFERED=1
status=0

run() {  # run NAME COMMAND...: log the command, its output and how long it took
  local name=$1; shift
  echo "=== $name: $*" | tee -a "$LOG"
  local t0=$SECONDS
  if "$@" >> "$LOG" 2>&1; then
    echo "    ok ($((SECONDS - t0)) s)" | tee -a "$LOG"
  else
    echo "    FAILED ($((SECONDS - t0)) s): tail of $LOG follows" | tee -a "$LOG"
    tail -n 25 "$LOG"
    status=1
  fi
}

bench() {  # bench NAME SCRIPT ARGS...
  local name=$1 script=$2; shift 2
  run "$name" python3 "bench/gpu/$script" --results-dir "$RESULTS_DIR" --results-md "$RESULTS_MD" "$@"
}

stage_tests() {
  run environment python3 -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0), 'bf16', torch.cuda.is_bf16_supported())"
  nvidia-smi >> "$LOG" 2>&1 || true
  run gpu-tests python3 -m pytest -q -p no:cacheprovider -o addopts="" -m gpu tests/test_sync_free.py tests/test_fastpath_gpu.py
}

stage_gpt2() { bench gpt2 gpt2.py; }
stage_resnet50() { bench resnet50 resnet50.py; }

stage_variants1() {
  bench gpt2-eager gpt2.py --variant eager --set train.compile=false --curve-steps 50
  bench resnet50-eager resnet50.py --variant eager --set train.compile=false --curve-steps 50
  bench gpt2-nonfinite-every-100 gpt2.py --variant nonfinite-every-100 --set "train.nonfinite={type: stop, every: 100}" --curve-steps 50
}

stage_variants2() {
  bench gpt2-no-pad gpt2.py --variant no-pad-vocab --set train.performance.pad_vocab=false --curve-steps 50
  bench gpt2-batch32 gpt2.py --variant batch32 --batch-size 32 --curve-steps 50
  bench gpt2-cudnn-attention gpt2.py --variant cudnn-attention --set train.performance.attention=cudnn --curve-steps 50
  bench resnet50-nchw resnet50.py --variant nchw --set train.performance.channels_last=false --curve-steps 50
  bench resnet50-nonfinite-every-100 resnet50.py --variant nonfinite-every-100 --set "train.nonfinite={type: stop, every: 100}" --curve-steps 50
  bench resnet50-reduce-overhead resnet50.py --variant reduce-overhead --set train.performance.compile_mode=reduce-overhead --curve-steps 50
  bench gpt2-max-autotune gpt2.py --variant max-autotune --set train.performance.compile_mode=max-autotune-no-cudagraphs --curve-steps 50
}

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(tests gpt2 resnet50 variants1 variants2)
for s in "${stages[@]}"; do
  case $s in
    tests|gpt2|resnet50|variants1|variants2) "stage_$s" ;;
    *) echo "unknown stage: $s (tests, gpt2, resnet50, variants1, variants2)"; exit 2 ;;
  esac
done
echo "results: $RESULTS_DIR/*.json, $RESULTS_MD; log: $LOG" | tee -a "$LOG"
exit $status
