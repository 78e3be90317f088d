#!/usr/bin/env bash
# The test command of README.md (and of .ci/run): install, build, run every test on the
# Vulkan device present (lavapipe on a machine without a GPU) with validation on.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
build_dir=${GLOWQ_BUILD_DIR:-$root/build}
export GLOWQ_VALIDATION=1
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
