#!/usr/bin/env bash
# The Vulkan device the benchmark scripts use, as "INDEX SLUG TYPE" on one line: the
# device GLOWQ_DEVICE names (index or name substring), else the best one (discrete, then
# integrated, virtual, CPU). SLUG names its docs/bench/ file. Usage: pick_device.sh GLOWQ
set -euo pipefail
"$1" info --json | python3 -c "
import json, os, re, sys
d = json.load(sys.stdin)['devices']
want = os.environ.get('GLOWQ_DEVICE', '')
if want.isdigit(): m = [d[int(want)]] if int(want) < len(d) else []
elif want: m = [x for x in d if want.lower() in x['name'].lower()]
else: m = d
if not m: sys.exit('no Vulkan device matches GLOWQ_DEVICE=' + repr(want))
order = {'discrete': 0, 'integrated': 1, 'virtual': 2, 'cpu': 3}
x = sorted(m, key=lambda x: order.get(x['type'], 4))[0]
print(x.get('index', d.index(x)), re.sub('[^a-z0-9]+', '-', x['name'].lower()).strip('-')[:40], x['type'])"
