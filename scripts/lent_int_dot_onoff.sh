# LENT_AFTER file for scripts/lent_gpu_run.sh: decode with the int8 dot-product GEMVs
# (--int-dot on) against fp32 products (--int-dot off), alternating, on the synthetic
# Llama-2-7B Q4_0 file the side-by-side wrote.
for m in /tmp/cache/models/synthetic-llama2-7b.Q4_0.gguf; do
  [ -f "$m" ] || { echo "missing $m"; continue; }
  for round in 1 2; do
    for form in on off; do
      echo "== $(basename "$m") round $round: --int-dot $form"
      timeout 90 "$B/glowq" bench model -m "$m" --device 0 --pp 512 --tg 128 --reps 3 --prompt 16 --decode 64 --quiet \
        --int-dot $form 2>&1 | grep -E 'TTFB|decode|pp512|tg128'
    done
  done
done | tee "$out/int-dot-onoff.txt"
