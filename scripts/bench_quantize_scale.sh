#!/usr/bin/env bash
# The quantizer at scale (issue 16): peak resident memory and time of `glowq quantize` on a
# synthetic Llama-2-7B-shaped f16 model cut to each of SCALE_LAYERS layers (default "2"),
# with GlowQ r64 and the randomized route on 512 calibration tokens of botchan. Prints one
# table row per layer count and keeps the logs in $GLOWQ_CACHE/scale/.
# Environment: SCALE_LAYERS ("2 4 32"), SCALE_SHAPE (llama2-7b), SCALE_THREADS (every core),
# SCALE_ARGS (more quantize options: --in-memory for the path that decodes the whole model;
# --calib-on cpu|vulkan to compare where calibration runs),
# SCALE_KEEP=1 keeps the models (else each is deleted after its run: 32 layers are 12.6 GiB),
# GLOWQ_BUILD_DIR, GLOWQ_CACHE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
glowq=${GLOWQ_BUILD_DIR:-$root/build}/glowq
shape=${SCALE_SHAPE:-llama2-7b}
threads=${SCALE_THREADS:-$(nproc)}
[ -x "$glowq" ] || { echo "bench_quantize_scale: $glowq not built" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_quantize_scale: needs GNU time (apt-get install time)" >&2; exit 1; }
text=$("$root/scripts/fetch_botchan.sh")
dir=$cache/scale; mkdir -p "$dir"
echo "| layers | model GiB | peak RSS GiB | calibration s | on | fitting s | writing s | total s | threads |"
echo "|---:|---:|---:|---:|---|---:|---:|---:|---:|"
for n in ${SCALE_LAYERS:-2}; do
  model=$dir/$shape-${n}l.f16.gguf
  [ -s "$model" ] || "$glowq" synth --shape "$shape" --type f16 --layers "$n" -o "$model" > /dev/null
  log=$dir/$shape-${n}l.quantize.log
  # shellcheck disable=SC2086
  /usr/bin/time -v "$glowq" quantize -m "$model" -o "$dir/$shape-${n}l.glowq.gguf" --method glowq --rank 64 \
    --calib "$text" --calib-tokens 512 --route rsvd --threads "$threads" ${SCALE_ARGS:-} > "$log" 2>&1
  # The output must read back as a GlowQ model with every layer's units.
  "$glowq" info "$dir/$shape-${n}l.glowq.gguf" > "$dir/$shape-${n}l.info.log"
  rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  times=$(grep '^time:' "$log")
  calib=$(sed -E 's/.*calibration ([0-9.]+) s.*/\1/' <<< "$times")
  fit=$(sed -E 's/.*fitting ([0-9.]+) s.*/\1/' <<< "$times")
  where=$(sed -nE 's/^calibration: .* on (.*), text sha256.*/\1/p' "$log")
  write=$(sed -E 's/.*writing ([0-9.]+) s.*/\1/' <<< "$times")
  total=$(sed -E 's/.*total ([0-9.]+) s.*/\1/' <<< "$times")
  printf '| %s | %.2f | %.2f | %s | %s | %s | %s | %s | %s |\n' "$n" "$(stat -c %s "$model" | awk '{print $1 / 2^30}')" \
    "$(awk -v k="$rss_kib" 'BEGIN {print k / 2^20}')" "$calib" "$where" "$fit" "$write" "$total" "$threads"
  [ "${SCALE_KEEP:-0}" = 1 ] || rm -f "$model" "$dir/$shape-${n}l.glowq.gguf"
done
