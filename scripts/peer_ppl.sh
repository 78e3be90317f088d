#!/usr/bin/env bash
# llama-perplexity (CPU build from scripts/build_llama_cpp.sh) on a real model with
# botchan.txt: -c 512 --chunks 8, the windows the [.peer] tests recompute with glowq.
#   scripts/peer_ppl.sh [smollm2|gemma3]   (default smollm2)
# Prints the final PPL line and writes the number to
# $GLOWQ_CACHE/peer/<model>_botchan_c512_chunks8.ppl (what the tests read).
#   GLOWQ_CACHE  cache root (default ~/.cache/glowq)
#   GLOWQ_MODEL  model file (default: the one `scripts/fetch_model.sh <model>` fetches)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
bin=$("$root/scripts/build_llama_cpp.sh")
which=${1:-smollm2}
model=${GLOWQ_MODEL:-$("$root/scripts/fetch_model.sh" "$which")}
text=$("$root/scripts/fetch_botchan.sh")
out=$cache/peer/${which}_botchan_c512_chunks8.ppl
mkdir -p "$cache/peer"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$bin/llama-perplexity" -m "$model" -f "$text" -c 512 --chunks 8 -t "$(nproc)" >"$log" 2>&1 || {
  tail -n 30 "$log" >&2
  exit 1
}
line=$(grep "Final estimate: PPL" "$log" || true)
if [ -z "$line" ]; then
  tail -n 30 "$log" >&2
  echo "peer_ppl: llama-perplexity printed no final estimate" >&2
  exit 1
fi
echo "$line"
# "Final estimate: PPL = 12.3456 +/- 0.12345" -> 12.3456
echo "$line" | sed -E 's/.*PPL = ([0-9.]+).*/\1/' > "$out"
