# LENT_AFTER file for scripts/lent_gpu_run.sh (issue 16's GPU goal): calibration of a
# 2-layer Llama-2-7B-shaped f16 model on the GPU (--calib-on vulkan) and on the CPU, the
# same command otherwise (GlowQ r64, the randomized route, 512 tokens of the GPL text every
# Debian system has; botchan is not fetched there). Compare the `calibration ... s` of the
# time lines; this machine's 2-core figure is in docs/quantize-scale.md.
text=/usr/share/common-licenses/GPL-3
dir=/tmp/cache/calib; mkdir -p "$dir"
m=$dir/llama2-7b-2l.f16.gguf
timeout 120 "$B/glowq" synth --shape llama2-7b --type f16 --layers 2 -o "$m" > /dev/null || { echo "synth failed"; exit 1; }
for on in vulkan cpu; do
  echo "== --calib-on $on"
  timeout 240 "$B/glowq" quantize -m "$m" -o "$dir/$on.gguf" --method glowq --rank 64 --route rsvd --calib "$text" \
    --calib-tokens 512 --calib-on "$on" --device 0 --quiet 2>&1 | grep -E '^(calibration|time|peak)'
done | tee "$out/calibration.txt"
