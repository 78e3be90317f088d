#!/usr/bin/env bash
# One command for a device's benchmark file: docs/bench/<device>.md, with .json and .png
# beside it. On one Vulkan device, in one go:
#   1. `glowq bench kernels`: copy bandwidth, the int4 GEMV and GEMM on model shapes;
#   2. `glowq bench model --shape S --modes none,per-module,glowq,glowq-s --profile` for
#      each of BENCH_MODE_SHAPES: the correction modes side by side, where a decode step's
#      time goes and each weight product's GB/s against the copy bandwidth;
#   3. scripts/bench_vs_llamacpp.sh for each of BENCH_SXS_SHAPES (synthetic Q4_0 files) and,
#      with BENCH_REAL=1, for the real SmolLM2 file: llama.cpp's Vulkan backend and glowq,
#      alternating, on the same file;
#   4. scripts/bench_report.py: the Markdown file, the JSON and the plot.
# Everything is synthetic unless BENCH_REAL=1, so a machine with no download works.
# Environment (defaults depend on whether the device is a CPU driver such as lavapipe):
#   GLOWQ_DEVICE        device index or name substring (default: the best device)
#   GLOWQ_BUILD_DIR     where glowq is built (default build/)
#   LLAMA_BIN           a folder with a built llama-bench (default: build it)
#   BENCH_MODE_SHAPES   default: smollm2-135m (CPU) / smollm2-135m,llama3-8b (GPU)
#   BENCH_SXS_SHAPES    default: smollm2-135m (CPU) / smollm2-135m,llama2-7b (GPU)
#   BENCH_KERNEL_MODELS model shapes for the kernels (default smollm2-135m,llama3-8b)
#   BENCH_LAYERS        fewer layers for the correction-mode models (quick runs)
#   BENCH_REAL          1: also the side-by-side on the real SmolLM2 file (default 1 on CPU)
#   BENCH_REPS, BENCH_ROUNDS  repetitions per run (3 / 1 on CPU), alternating rounds (2)
#   BENCH_OUT           the Markdown path (default docs/bench/<device>.md)
#   BENCH_BEFORE        LABEL=GLOWQ_BINARY of an earlier build: also its decode against this
#                       build's on the README's GlowQ file (scripts/bench_builds.sh, alternating;
#                       BENCH_BEFORE_MODEL for another file, BENCH_BEFORE_ROUNDS rounds, default 6)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
build=${GLOWQ_BUILD_DIR:-$root/build}
glowq=$build/glowq
[ -x "$glowq" ] || { echo "bench_device: $glowq not built (scripts/setup.sh)" >&2; exit 1; }
t_start=$(date +%s)

dev=$("$root/scripts/pick_device.sh" "$glowq")  # exits here when no device matches
read -r dev_index dev_slug dev_type <<< "$dev"
export GLOWQ_DEVICE=$dev_index
if [ "$dev_type" = cpu ]; then
  mode_shapes=${BENCH_MODE_SHAPES:-smollm2-135m}; sxs_shapes=${BENCH_SXS_SHAPES:-smollm2-135m}
  real=${BENCH_REAL:-1}; reps=${BENCH_REPS:-1}; pp=128; tg=32; gemm=64; copy_mib=64; kreps=5
else
  mode_shapes=${BENCH_MODE_SHAPES:-smollm2-135m,llama3-8b}; sxs_shapes=${BENCH_SXS_SHAPES:-smollm2-135m,llama2-7b}
  real=${BENCH_REAL:-0}; reps=${BENCH_REPS:-3}; pp=512; tg=128; gemm=16,64,512; copy_mib=1024; kreps=20
fi
rounds=${BENCH_ROUNDS:-2}
out=${BENCH_OUT:-$root/docs/bench/$dev_slug.md}
runs=$cache/bench-device/$dev_slug-$(date -u +%Y%m%dT%H%M%S)
mkdir -p "$runs" "$(dirname "$out")"
echo "bench_device: $dev_slug ($dev_type), raw results in $runs" >&2

"$glowq" info --json > "$runs/info.json"
cmds=()
run() {  # run NAME CMD...: records the command, logs stderr
  local name=$1; shift
  echo "bench_device: $name" >&2
  cmds+=("$*")
  "$@" 2> "$runs/$name.err" || { tail -20 "$runs/$name.err" >&2; exit 1; }
}

run kernels "$glowq" bench kernels --device "$dev_index" --reps "$kreps" --gemm-tokens "$gemm" --copy-mib "$copy_mib" \
  --models "${BENCH_KERNEL_MODELS:-smollm2-135m,llama3-8b}" --json "$runs/kernels.json" --quiet > "$runs/kernels.txt"
for s in ${mode_shapes//,/ }; do
  run "modes-$s" "$glowq" bench model --shape "$s" --modes none,per-module,glowq,glowq-s --device "$dev_index" \
    ${BENCH_LAYERS:+--layers "$BENCH_LAYERS"} --reps "$reps" --pp "$pp" --tg "$tg" --profile --copy-mib "$copy_mib" --quiet --json "$runs/modes-$s.json" \
    > "$runs/modes-$s.txt"
done
if [ -z "${LLAMA_BIN:-}" ]; then LLAMA_BIN=$("$root/scripts/build_llama_cpp_vulkan.sh"); fi
export LLAMA_BIN
sxs() {  # sxs NAME [ENV=VALUE ...]
  local name=$1; shift
  cmds+=("$* BENCH_PP=$pp BENCH_TG=$tg BENCH_REPS=$reps BENCH_ROUNDS=$rounds scripts/bench_vs_llamacpp.sh")
  echo "bench_device: side by side with llama.cpp, $name" >&2
  env "$@" BENCH_PP="$pp" BENCH_TG="$tg" BENCH_REPS="$reps" BENCH_ROUNDS="$rounds" \
    BENCH_OUT="$runs/sxs-$name.md" "$root/scripts/bench_vs_llamacpp.sh" > /dev/null
}
for s in ${sxs_shapes//,/ }; do
  # glowq's own int4 at Q4_0's bits per weight comes from `glowq quantize`, which holds
  # the model in fp32 on the host: only for the small shapes.
  own=1; case $s in llama2-7b|llama3-8b) own=0 ;; esac
  sxs "$s" BENCH_SHAPE="$s" BENCH_OWN=$own
done
[ "$real" = 1 ] && sxs smollm2-135m-real BENCH_OWN=1
if [ -n "${BENCH_BEFORE:-}" ]; then
  before_model=${BENCH_BEFORE_MODEL:-$cache/models/SmolLM2-135M-Instruct.glowq-r64-g128.gguf}
  [ -s "$before_model" ] || { echo "bench_device: no $before_model (bash scripts/run.sh makes it)" >&2; exit 1; }
  this=$(git -C "$root" describe --always --dirty 2> /dev/null || echo this)
  echo "bench_device: before and after, ${BENCH_BEFORE%%=*} against $this" >&2
  cmds+=("BENCH_ROUNDS=${BENCH_BEFORE_ROUNDS:-6} scripts/bench_builds.sh $before_model $BENCH_BEFORE $this=$glowq")
  BENCH_ROUNDS=${BENCH_BEFORE_ROUNDS:-6} BENCH_OUT="$runs/builds.json" \
    "$root/scripts/bench_builds.sh" "$before_model" "$BENCH_BEFORE" "$this=$glowq" > /dev/null
fi

elapsed=$(( $(date +%s) - t_start ))
cmdline="scripts/bench_device.sh"
for v in GLOWQ_DEVICE BENCH_BEFORE BENCH_BEFORE_ROUNDS BENCH_KERNEL_MODELS BENCH_LAYERS BENCH_MODE_SHAPES BENCH_SXS_SHAPES BENCH_REAL BENCH_REPS BENCH_ROUNDS; do
  [ -n "${!v:-}" ] && [ "$v" != GLOWQ_DEVICE ] && cmdline="$v=${!v} $cmdline"
done
printf '%s\n' "${cmds[@]}" > "$runs/commands.txt"
# The plot needs matplotlib: a venv in the cache where python3 lacks it (and PyPI is reachable).
py=python3
if ! python3 -c 'import matplotlib' 2> /dev/null; then
  venv=$cache/venv-plot
  if ! "$venv/bin/python" -c 'import matplotlib' 2> /dev/null; then
    python3 -m venv "$venv" > /dev/null 2>&1 && "$venv/bin/pip" install -q matplotlib > /dev/null 2>&1 ||
      echo "bench_device: no matplotlib, no plot" >&2
  fi
  "$venv/bin/python" -c 'import matplotlib' 2> /dev/null && py=$venv/bin/python
fi
"$py" "$root/scripts/bench_report.py" --runs "$runs" --out "$out" --cmdline "$cmdline" --elapsed "$elapsed"
echo "$out"
