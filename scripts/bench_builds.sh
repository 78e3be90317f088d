#!/usr/bin/env bash
# Before and after: two or more glowq builds on one model file, alternating, so a change's
# speed-up is a ratio measured in one run on one (possibly noisy) machine.
#   scripts/bench_builds.sh MODEL LABEL=GLOWQ_BINARY LABEL=GLOWQ_BINARY ...
# Each round runs every build's `glowq bench model -m MODEL --json` once (the order flips
# every round); writes BENCH_OUT (JSON: per build and round the medians of decode, tg, pp and
# TTFB) and prints a Markdown table: medians over rounds, and each build over the first
# (the median over rounds of the ratio within a round).
# Environment: BENCH_ROUNDS (default 6), BENCH_REPS (3), BENCH_PP (8), BENCH_TG (32),
#   BENCH_DECODE (8), BENCH_PROMPT (8), BENCH_OUT (JSON; default a temporary file),
#   GLOWQ_DEVICE (device index or name substring).
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,11p "$0" >&2; exit 2; }
model=$1; shift
[ -s "$model" ] || { echo "bench_builds: no model file $model" >&2; exit 1; }
labels=(); bins=()
for b in "$@"; do
  [[ $b == *=* ]] || { echo "bench_builds: expected LABEL=BINARY, got $b" >&2; exit 2; }
  labels+=("${b%%=*}"); bins+=("${b#*=}")
  [ -x "${b#*=}" ] || { echo "bench_builds: ${b#*=} is not an executable" >&2; exit 1; }
done
rounds=${BENCH_ROUNDS:-6}
out=${BENCH_OUT:-$(mktemp --suffix=.json)}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
args=(bench model -m "$model" --reps "${BENCH_REPS:-3}" --pp "${BENCH_PP:-8}" --tg "${BENCH_TG:-32}"
      --decode "${BENCH_DECODE:-8}" --prompt "${BENCH_PROMPT:-8}" --quiet)
[ -n "${GLOWQ_DEVICE:-}" ] && args+=(--device "$GLOWQ_DEVICE")
n=${#bins[@]}
for ((r = 0; r < rounds; ++r)); do
  for ((j = 0; j < n; ++j)); do
    i=$(( r % 2 == 0 ? j : n - 1 - j ))
    echo "bench_builds: round $((r + 1))/$rounds, ${labels[$i]}" >&2
    "${bins[$i]}" "${args[@]}" --json "$tmp/$i-$r.json" > /dev/null 2> "$tmp/$i-$r.err" ||
      { tail -5 "$tmp/$i-$r.err" >&2; exit 1; }
  done
done
python3 - "$tmp" "$out" "$model" "$rounds" "${labels[@]}" << 'EOF'
import json, statistics, sys
tmp, out, model, rounds, labels = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
keys = {'decode_tps': 'decode tok/s', 'tg_tps': 'tg tok/s', 'pp_tps': 'pp tok/s', 'ttfb_ms': 'TTFB ms'}
builds = []
for i, label in enumerate(labels):
    per = {k: [] for k in keys}
    for r in range(rounds):
        run = json.load(open(f'{tmp}/{i}-{r}.json'))['runs'][0]
        for k in keys:
            per[k].append(run[k]['median'])
    builds.append({'label': label, 'rounds': per, 'median': {k: statistics.median(v) for k, v in per.items()}})
# Each build over the first in the same round (runs next to each other share the machine's
# load of the moment), the median over rounds: steadier on a shared machine than the
# ratio of the medians.
for b in builds:
    b['paired'] = {k: statistics.median(x / y for x, y in zip(b['rounds'][k], builds[0]['rounds'][k]))
                   for k in ('decode_tps', 'tg_tps')}
json.dump({'model': model, 'rounds': rounds, 'builds': builds}, open(out, 'w'), indent=1)
print('| build | ' + ' | '.join(keys.values()) + ' | decode / first | tg / first |')
print('|---|' + '---:|' * (len(keys) + 2))
for b in builds:
    m = b['median']
    print(f"| {b['label']} | " + ' | '.join(f'{m[k]:.2f}' for k in keys) +
          f" | {b['paired']['decode_tps']:.2f}x | {b['paired']['tg_tps']:.2f}x |")
EOF
