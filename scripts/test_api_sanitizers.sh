#!/usr/bin/env bash
# Builds libglowq.so and the C API tests with AddressSanitizer + UBSan (build-asan-api/, also
# with injected device faults: tests/faults/test_faults.cpp)
# and with ThreadSanitizer (build-tsan/), and runs the API cases under each on the Vulkan
# device present. The threaded cases (cancel from another thread, two sessions on two
# threads) are the point of the ThreadSanitizer run. Needs the main build (for the second,
# synthetic model) and the real model in the cache (scripts/fetch_model.sh).
# The validation layer stays off here (the ctest run has it on): it leaks from a module it
# unloads (LeakSanitizer cannot name it to suppress it), and ThreadSanitizer reports a race
# between the layer's own worker thread and its own teardown.
set -euo pipefail
export GLOWQ_VALIDATION=0
root=$(cd "$(dirname "$0")/.." && pwd)
main_build=${GLOWQ_BUILD_DIR:-$root/build}
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
model=${GLOWQ_MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}
other=$(mktemp -d)/other.gguf
trap 'rm -rf "$(dirname "$other")"' EXIT
"$main_build/glowq" synth --shape tiny -o "$other" >/dev/null

run_cases() {  # build dir, cases...
  local build=$1; shift
  for c in "$@"; do
    echo "-- $(basename "$build"): $c"
    "$build/tests/test_c_api" "$c" "$model" "$other" 2>"$build/$c.log" || { cat "$build/$c.log"; exit 1; }
  done
}

build_api() {  # build dir, sanitizer option, fault injection ON/OFF
  cmake -S "$root" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -D"$2"=ON -DGLOWQ_BUILD_APPS=ON \
    -DGLOWQ_FAULT_INJECTION="$3" >/dev/null
  cmake --build "$1" --target test_c_api $([ "$3" = ON ] && echo test_faults glowq_soak) -j "${GLOWQ_JOBS:-2}" >/dev/null
}

# Leaks inside the Vulkan loader and Mesa's drivers (LLVM's JIT keeps its caches) are
# theirs; any leak in glowq fails.
export LSAN_OPTIONS="suppressions=$root/tests/api/lsan_suppressions.txt:print_suppressions=0"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
build_api "$root/build-asan-api" GLOWQ_SANITIZE ON
# Drivers stay mapped until exit, so their leaks keep their names (tests/api/keep_drivers_loaded.c).
cc -shared -fPIC -o "$root/build-asan-api/keep_drivers_loaded.so" "$root/tests/api/keep_drivers_loaded.c"
export LD_PRELOAD="$root/build-asan-api/keep_drivers_loaded.so" ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"
run_cases "$root/build-asan-api" errors load_fd_memory state cancel_prefill cancel_decode two_threads
# Injected device faults (this build only): every allocation, submit and fence wait of a
# load and a short generation made to fail in turn, each a clear error, the engine reused.
faults_model=$(dirname "$other")/faults.gguf
"$main_build/glowq" synth --shape smollm2-135m --layers 2 -o "$faults_model" >/dev/null
echo "-- build-asan-api: injected faults"
"$root/build-asan-api/tests/test_faults" "$faults_model" 40 2>"$root/build-asan-api/faults.log" ||
  { cat "$root/build-asan-api/faults.log"; exit 1; }
# A shortened soak (docs/reliability.md has the full one) for LeakSanitizer: a chat that
# outgrows its context, sessions and loads come and go. (RSS is not bounded here: the
# sanitizer's quarantine keeps freed memory.)
echo "-- build-asan-api: shortened soak"
"$root/build-asan-api/tests/glowq_soak" "$model" --tokens 200 --turn 50 --context 192 --sessions 8 --loads 8 \
  --max-growth 1000 >"$root/build-asan-api/soak.log" 2>&1 || { cat "$root/build-asan-api/soak.log"; exit 1; }

unset LD_PRELOAD
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
build_api "$root/build-tsan" GLOWQ_SANITIZE_THREAD OFF
# (ThreadSanitizer needs the address-space layout it knows: no randomization.)
for c in cancel_prefill cancel_decode two_threads eight_threads paris; do
  echo "-- build-tsan: $c"
  setarch "$(uname -m)" -R "$root/build-tsan/tests/test_c_api" "$c" "$model" "$other" 2>"$root/build-tsan/$c.log" ||
    { cat "$root/build-tsan/$c.log"; exit 1; }
done
echo "api sanitizers: all cases passed"
