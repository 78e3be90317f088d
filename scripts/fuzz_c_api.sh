#!/usr/bin/env bash
# Fuzzes the C API (tests/fuzz/fuzz_c_api.cpp: random call sequences with misuse and a
# cancelling thread, on a tiny synthetic model) with libFuzzer + ASan + UBSan for
# ${GLOWQ_API_FUZZ_SECONDS:-60} s on the Vulkan device present. Built with clang into
# build-fuzz-api/ (the library too: coverage and the sanitizers must cover it). Exits
# non-zero on a crash, a sanitizer report or a broken promise of glowq.h (libFuzzer leaves
# the input as build-fuzz-api/crash-* or leak-*; rerun it with the binary and that file).
# Needs clang and libclang-rt-14-dev (Debian 12), which provides libFuzzer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build-fuzz-api
seconds=${GLOWQ_API_FUZZ_SECONDS:-60}
# (the validation layer stays off, as in scripts/test_api_sanitizers.sh: its own leaks)
export GLOWQ_VALIDATION=0
CC=${CC_FUZZ:-clang} CXX=${CXX_FUZZ:-clang++} cmake -S "$root" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGLOWQ_SANITIZE=ON -DGLOWQ_FUZZ=ON -DGLOWQ_BUILD_APPS=OFF -DGLOWQ_BUILD_CHAT_APP=OFF >/dev/null
cmake --build "$out" --target fuzz_c_api -j "${GLOWQ_JOBS:-2}" >/dev/null

# Leaks inside the Vulkan loader and Mesa's drivers are theirs; any leak in glowq fails.
export LSAN_OPTIONS="suppressions=$root/tests/api/lsan_suppressions.txt:print_suppressions=0"
# Drivers stay mapped until exit, so their leaks keep their names (tests/api/keep_drivers_loaded.c).
cc -shared -fPIC -o "$out/keep_drivers_loaded.so" "$root/tests/api/keep_drivers_loaded.c"
export LD_PRELOAD="$out/keep_drivers_loaded.so" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
mkdir -p "$out/corpus-c-api"
cd "$out"
log=$out/fuzz_c_api.log
set +e
./tests/fuzz_c_api -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 corpus-c-api \
  >"$log" 2>&1
rc=$?
set -e
execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
if [ $rc -ne 0 ]; then grep -v '^"' "$log" | tail -n 40; fi
sed -n '/calls succeeded\/made/,$p' "$log" | grep -E '^(fuzz_c_api|  )'
echo "fuzz_c_api: ${execs:-unknown} inputs in ${seconds}s, exit code $rc (log: $log)"
exit $rc
