#!/usr/bin/env bash
# Runs on a lent GPU machine (see scripts/lent_gpu_pack.sh, which made .devbin and .gl): the
# runtime tests under the Khronos validation layer, then scripts/bench_device.sh; what comes
# back goes to $OUT (the device tool's output folder): the bench file, its JSON and plot, the
# logs and the raw runs. LENT_BENCH=0 runs the tests alone; LENT_SWEEP=LIST also times those
# GEMV variants (glowq bench kernels --gemv-variants) on the Llama-3-8B shapes;
# LENT_GEMM_TILES=LIST times the GEMM with those tiles (--gemm-tiles) at 16, 64 and 512 tokens;
# LENT_AFTER=FILE runs that bash file last, with B (the binaries) and out set
# (scripts/lent_int_dot_onoff.sh, scripts/lent_calibration.sh).
t0=$(date +%s)
out=${OUT:-/tmp/lent-out}; mkdir -p "$out"
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
mkdir -p /tmp/bin && tar xJf .devbin/devbin.tar.xz -C /tmp/bin
ldconfig -p | grep -q libgomp.so.1 || export LD_LIBRARY_PATH=/tmp/bin/lib
# The NVIDIA driver's folder is mounted, not installed: its ICD manifest is not where the
# loader looks.
icd=$(find /usr/local/nvidia /usr/share/vulkan /etc/vulkan -name '*nvidia*.json' 2> /dev/null | grep icd | head -1)
[ -n "$icd" ] && export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/nvidia/lib64
B=/tmp/bin/bin
if ! "$B/glowq" info > "$out/info.txt" 2>&1; then
  VK_LOADER_DEBUG=error,warn "$B/glowq" info 2>&1 | tail -20; exit 1
fi
head -20 "$out/info.txt"
echo "== runtime tests, validation on"
VK_LAYER_PATH=/tmp/bin/layer GLOWQ_TEST_DATA=$PWD/tests/data GLOWQ_VALIDATION=1 GLOWQ_DEVICE=0 \
  timeout "${LENT_TEST_TIMEOUT:-100}" "$B/glowq_runtime_tests" "${LENT_TESTS:-~[real-model]}" > "$out/tests.log" 2>&1
echo "tests rc=$?"; tail -4 "$out/tests.log"
if [ -n "${LENT_SWEEP:-}" ]; then  # GEMV shapes to compare, e.g. rows:2:128:4,rows:1:256:4
  echo "== GEMV variants: $LENT_SWEEP"
  timeout 120 "$B/glowq" bench kernels --models llama3-8b --gemm-tokens 0 --reps 20 --copy-mib 1024 \
    --gemv-variants "auto,$LENT_SWEEP" --quiet > "$out/sweep.txt" 2>&1
  echo "sweep rc=$?"
fi
if [ -n "${LENT_GEMM_TILES:-}" ]; then
  echo "== GEMM tiles: $LENT_GEMM_TILES"
  timeout 150 "$B/glowq" bench kernels --gemm-tokens 16,64,512 --gemm-tiles "auto,$LENT_GEMM_TILES" --reps 10 \
    --copy-mib 1024 --quiet > "$out/gemm-tiles.txt" 2>&1
  echo "gemm tiles rc=$?"
fi
[ "${LENT_BENCH:-1}" = 1 ] || exit 0
echo "== bench ($(( $(date +%s) - t0 )) s so far)"
set -o pipefail
LLAMA_BIN=$B GLOWQ_BUILD_DIR=$B GLOWQ_CACHE=/tmp/cache timeout "${LENT_BENCH_TIMEOUT:-330}" \
  scripts/bench_device.sh 2>&1 | tee "$out/bench.log"
echo "bench rc=$?"
dev=$(python3 -c "import json,re;d=json.load(open('/dev/stdin'))['devices'][0];print(re.sub('[^a-z0-9]+','-',d['name'].lower()).strip('-')[:40])" < <("$B/glowq" info --json))
cp docs/bench/"$dev".* "$out/" 2> /dev/null
tar czf "$out/runs.tgz" -C /tmp/cache bench-device 2> /dev/null
if [ -n "${LENT_AFTER:-}" ]; then
  echo "== $LENT_AFTER ($(( $(date +%s) - t0 )) s so far)"
  B=$B out=$out bash "$LENT_AFTER"
  echo "after rc=$?"
fi
echo "total $(( $(date +%s) - t0 )) s"
