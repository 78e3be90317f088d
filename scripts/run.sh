#!/usr/bin/env bash
# The main job: install and build if needed, fetch the default model (SmolLM2-135M-Instruct)
# if it is not cached, quantize it with GlowQ (int4, group 128, rank-64 corrections
# calibrated on botchan.txt) if that is not cached either, then generate text with it.
# Arguments go to `glowq run` (default: a short chat prompt).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
glowq=${GLOWQ_BUILD_DIR:-$root/build}/glowq
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
"$root/scripts/setup.sh" >&2
model=$("$root/scripts/fetch_model.sh")
quantized=$cache/models/SmolLM2-135M-Instruct.glowq-r64-g128.gguf
if [ ! -f "$quantized" ]; then
  calib=$("$root/scripts/fetch_botchan.sh")
  echo "run: quantizing the model with GlowQ (once; about four minutes)" >&2
  "$glowq" quantize -m "$model" -o "$quantized" --method glowq --rank 64 --group-size 128 --calib "$calib" >&2
fi
if [ $# -eq 0 ]; then
  set -- -p "Explain in two sentences why the sky is blue."
fi
exec "$glowq" run -m "$quantized" "$@"
