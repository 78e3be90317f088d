#!/bin/sh
# `glowq quantize` end to end on a small synthetic f16 model: the streamed path (the
# default) and --in-memory write the same bytes, the scratch file leaves nothing behind,
# and a missing output directory is a clear error with a non-zero status. Calibration on
# the Vulkan device (--calib-on vulkan; auto keeps a CPU driver's runs on the CPU) writes a
# model that loads, and is refused where it cannot apply.
# Usage: quantize_streamed.sh GLOWQ WORK_DIR
set -eu
glowq=$1
dir=$2
text=/usr/share/common-licenses/GPL-3  # every Debian system has it (base-files)
rm -rf "$dir"
mkdir -p "$dir"
"$glowq" synth --shape smollm2-135m --type f16 --layers 2 -o "$dir/in.gguf" >/dev/null
for mode in streamed in-memory; do
  flag=""
  [ "$mode" = in-memory ] && flag=--in-memory
  # shellcheck disable=SC2086
  "$glowq" quantize -m "$dir/in.gguf" -o "$dir/$mode.gguf" --method glowq --rank 8 --base gptq --budget 10% \
    --calib "$text" --calib-tokens 1024 --calib-window 256 --quiet $flag > "$dir/$mode.log"
done
cmp "$dir/streamed.gguf" "$dir/in-memory.gguf"
grep -q "layer by layer" "$dir/streamed.log"
! grep -q "layer by layer" "$dir/in-memory.log"
grep -q "on the CPU (.* is a CPU driver)" "$dir/streamed.log"  # auto, on lavapipe
"$glowq" quantize -m "$dir/in.gguf" -o "$dir/vulkan.gguf" --method glowq --rank 8 --base gptq --budget 10% \
  --calib "$text" --calib-tokens 1024 --calib-window 256 --calib-on vulkan --quiet > "$dir/vulkan.log"
grep -q "calibration: 1024 tokens in windows of 256.* on llvmpipe" "$dir/vulkan.log"
"$glowq" info "$dir/vulkan.gguf" | grep -q "^glowq  *method glowq on gptq int4"
refuse() {  # the options, then a piece of the error it must print
  want=$1
  shift
  if "$glowq" quantize -m "$dir/in.gguf" -o "$dir/refused.gguf" --quiet "$@" 2> "$dir/err.log"; then
    echo "quantize $* succeeded" >&2
    exit 1
  fi
  grep -q -- "$want" "$dir/err.log" || { cat "$dir/err.log" >&2; exit 1; }
}
refuse "auto, cpu or vulkan" --calib "$text" --calib-on gpu
refuse "needs the streamed path" --calib "$text" --calib-on vulkan --in-memory
refuse "a method that calibrates" --method rtn --calib-on vulkan
refuse "windows over 4096" --calib "$text" --calib-window 5000 --calib-tokens 5000 --calib-on vulkan
refuse "minmax or search" --calib "$text" --grid bogus
refuse "applies to --base rtn only" --calib "$text" --grid search --base gptq
refuse "--grid search needs calibration text" --method rtn --grid search
refuse "has no unit 'attn_q'" --calib "$text" --unit-rank attn_q=4
refuse "NAME=RANK pairs" --calib "$text" --unit-rank qkv=0
refuse "without --budget" --calib "$text" --unit-rank qkv=8 --budget 10%
# Searched grids (the default with --calib) write a file that loads and says how it was
# made, the same on the streamed and in-memory paths.
for mode in streamed in-memory; do
  flag=""
  [ "$mode" = in-memory ] && flag=--in-memory
  # shellcheck disable=SC2086
  "$glowq" quantize -m "$dir/in.gguf" -o "$dir/search-$mode.gguf" --method qera --rank 8 \
    --calib "$text" --calib-tokens 512 --calib-window 256 --quiet $flag > "$dir/search-$mode.log"
done
cmp "$dir/search-streamed.gguf" "$dir/search-in-memory.gguf"
grep -q "base rtn (searched grids)" "$dir/search-streamed.log"
"$glowq" info "$dir/search-streamed.gguf" | grep -q "base  *searched grids"
"$glowq" info "$dir/search-streamed.gguf" --json | grep -q '"grid":"search"'
"$glowq" run -m "$dir/search-streamed.gguf" -p "hi" -n 2 --raw --quiet >/dev/null 2>&1
leftover=$(ls "$dir" | grep -c scratch || true)
[ "$leftover" = 0 ] || { echo "scratch files left in $dir" >&2; exit 1; }
if "$glowq" quantize -m "$dir/in.gguf" -o "$dir/missing/out.gguf" --method rtn --quiet 2> "$dir/err.log"; then
  echo "quantize into a missing directory succeeded" >&2
  exit 1
fi
grep -q "missing/out.gguf" "$dir/err.log"
rm -rf "$dir"
echo "streamed and in-memory outputs identical"
