#!/usr/bin/env bash
# Host memory while glowq loads a model and generates one token: samples the process every
# 10 ms and reports the peak of the model file's resident mapped pages (from smaps), of all
# file-backed pages (the model and the shared libraries) and of anonymous memory (the heap;
# on lavapipe the "device" memory too), next to the model file's size.
# Usage: scripts/measure_load_memory.sh MODEL [glowq binary]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:?usage: measure_load_memory.sh MODEL [glowq]}
glowq=${2:-$root/build/glowq}
python3 - "$glowq" "$model" <<'PY'
import os, subprocess, sys, time
glowq, model = sys.argv[1], sys.argv[2]
p = subprocess.Popen([glowq, "run", "-m", model, "-n", "1", "--temp", "0", "-p", "Hi"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
peak = {"RssFile": 0, "RssAnon": 0, "VmRSS": 0, "model": 0}
real = os.path.realpath(model)
while p.poll() is None:
    try:
        with open(f"/proc/{p.pid}/status") as f:
            for line in f:
                k = line.split(":")[0]
                if k in peak:
                    peak[k] = max(peak[k], int(line.split()[1]))
        in_model, rss = False, 0
        with open(f"/proc/{p.pid}/smaps") as f:
            for line in f:
                if "-" in line.split(" ")[0] and not line.startswith(("Rss", "Size")):
                    in_model = line.rstrip("\n").endswith(real)
                elif in_model and line.startswith("Rss:"):
                    rss += int(line.split()[1])
        peak["model"] = max(peak["model"], rss)
    except (FileNotFoundError, ProcessLookupError):
        break
    time.sleep(0.01)
err = p.stderr.read()
if p.returncode != 0:
    sys.exit(f"glowq failed: {err}")
mib = lambda kib: kib / 1024
print(f"model file      {os.path.getsize(model) / 2**20:8.1f} MiB")
print(f"peak RSS        {mib(peak['VmRSS']):8.1f} MiB")
print(f"peak model pages{mib(peak['model']):8.1f} MiB  (the model file's mapping)")
print(f"peak file pages {mib(peak['RssFile']):8.1f} MiB  (the mapped model, shared libraries)")
print(f"peak anonymous  {mib(peak['RssAnon']):8.1f} MiB  (heap; on lavapipe also the device memory)")
PY
