#!/usr/bin/env bash
# The desktop app's end-to-end test: glowq-chat under Xvfb (validation on when
# GLOWQ_VALIDATION is set) sends "What is the capital of France?" to SmolLM2 greedily,
# then its transcript and screenshot are checked. First, a missing model file must show
# its error (named in the transcript) and end the scripted run with a failure status; and
# closing the window in the middle of a reply must exit cleanly.
#   run_scripted.sh GLOWQ_CHAT CHECKER MODEL OUT_DIR
set -euo pipefail
app=$1 checker=$2 model=$3 out=$4
mkdir -p "$out"
export XDG_DATA_HOME="$out/data"  # a fresh conversation store
rm -rf "$XDG_DATA_HOME"
echo "What is the capital of France?" > "$out/script.txt"
timeout 300 xvfb-run -a -s "-screen 0 1280x800x24" "$app" --model "$out/missing.gguf" --script "$out/script.txt" \
  --transcript "$out/missing.json" --exit-when-done && { echo "a missing model did not fail the scripted run"; exit 1; }
"$checker" --expect-error "$out/missing.json" "$out/missing.gguf"
# Closing the window while a reply streams cancels it and exits cleanly, within a step.
start=$(date +%s)
echo "Tell me a long story about a lighthouse." > "$out/long.txt"
timeout 120 xvfb-run -a -s "-screen 0 1280x800x24" "$app" --model "$model" --temp 0 --script "$out/long.txt" \
  --close-while-generating
echo "closed while generating: clean exit after $(( $(date +%s) - start )) s (model load included)"
timeout 300 xvfb-run -a -s "-screen 0 1280x800x24" "$app" --model "$model" --temp 0 --script "$out/script.txt" \
  --transcript "$out/transcript.json" --screenshot "$out/screenshot.png" --exit-when-done
"$checker" "$out/transcript.json" "$out/screenshot.png" Paris
