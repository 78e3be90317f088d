#!/usr/bin/env bash
# Runs `glowq bench kernels` and writes its table, with the command and date, to
# docs/bench/<device>-kernels.md (and the JSON beside it). Arguments go to the benchmark.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
glowq=${GLOWQ_BUILD_DIR:-$root/build}/glowq
device=$("$glowq" info --json | python3 -c "import json,sys,os; \
d=json.load(sys.stdin)['devices']; want=os.environ.get('GLOWQ_DEVICE',''); \
m=[x for x in d if want.lower() in x['name'].lower()] if want and not want.isdigit() else d; \
m=[d[int(want)]] if want.isdigit() else m; \
order={'discrete':0,'integrated':1,'virtual':2,'cpu':3}; \
print(sorted(m, key=lambda x: order.get(x['type'],4))[0]['name'])")
slug=$(echo "$device" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9]\+/-/g; s/^-//; s/-$//' | cut -c1-40)
mkdir -p "$root/docs/bench"
md=$root/docs/bench/$slug-kernels.md
json=$root/docs/bench/$slug-kernels.json
table=$("$glowq" bench kernels --quiet --json "$json" "$@")
{
  echo "# glowq bench kernels: $device"
  echo
  echo "Produced by \`scripts/bench_kernels_doc.sh $*\` (runs \`glowq bench kernels $*\`) on $(date -u +%Y-%m-%d)."
  echo "GPU timestamps, median of repetitions after warm-up; GB/s counts the int4 weight bytes"
  echo "(codes and packed scale/offset) read once; the copy bandwidth counts bytes read + written."
  echo
  echo "$table"
} > "$md"
echo "$md"
