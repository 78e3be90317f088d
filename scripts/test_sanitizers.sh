#!/usr/bin/env bash
# Builds the loader and its tests with AddressSanitizer + UBSan (GLOWQ_SANITIZE) into
# build-asan/ and runs them. No Vulkan needed (GLOWQ_LOADER_ONLY).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-asan
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGLOWQ_SANITIZE=ON -DGLOWQ_LOADER_ONLY=ON -DGLOWQ_BUILD_APPS=OFF >/dev/null
cmake --build "$build" --target glowq_loader_tests -j "${GLOWQ_JOBS:-2}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j 2
