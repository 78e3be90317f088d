#!/usr/bin/env bash
# glowq on 64-bit ARM, the architecture of Android phones: cross-builds the library, the C
# API tests, the runtime (shader) tests and the CLI with Debian's aarch64 toolchain, and runs
# them under qemu-user on arm64 lavapipe with the validation layer on: every kernel against
# its CPU reference, then the C API cases on the real SmolLM2 (fetched into the cache like
# the main job's) with a small synthetic model as the second one, in the normal mode and in
# the Android baseline mode. Installs the multiarch packages it needs.
#   GLOWQ_ARM64_BUILD_DIR        build directory (default build-arm64)
#   GLOWQ_ARM64_API_CASES        C API cases to run (default: all seven; each loads SmolLM2
#                                under emulation with validation on, 2-5 minutes apiece)
#   GLOWQ_ARM64_BASELINE_CASES   C API cases to run again within the Android baseline
#                                limits (default: paris state)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${GLOWQ_ARM64_BUILD_DIR:-$root/build-arm64}
start=$(date +%s)

packages=(g++-aarch64-linux-gnu qemu-user-static file libc6:arm64 libstdc++6:arm64 libvulkan1:arm64
          libvulkan-dev:arm64 mesa-vulkan-drivers:arm64 vulkan-validationlayers:arm64)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "arm64: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  dpkg --print-foreign-architectures | grep -qx arm64 || $sudo_cmd dpkg --add-architecture arm64
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64-linux-gnu.cmake" \
    -DGLOWQ_BUILD_CHAT_APP=OFF
fi
cmake --build "$build" -j "$(nproc)" --target glowq glowq_shared glowq_jni test_c_api glowq_runtime_tests glowq-example
built=$(date +%s)
for lib in libglowq.so.0 libglowq_jni.so; do
  file -L "$build/$lib" | grep -q "ARM aarch64" || { echo "arm64: $lib is not an aarch64 library"; exit 1; }
done

# Only arm64 lavapipe: the x86-64 ICDs cannot load into an emulated process.
export VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.aarch64.json
export GLOWQ_VALIDATION=1
run() { qemu-aarch64-static -L / "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

model=${GLOWQ_MODEL:-${GLOWQ_CACHE:-$HOME/.cache/glowq}/models/SmolLM2-135M-Instruct.Q4_1.gguf}
[ -f "$model" ] || "$root/scripts/fetch_model.sh" >/dev/null

echo "== arm64: device"
run "$build/glowq" info | head -3
echo "== arm64: synthetic models"
run "$build/glowq" synth --shape tiny -o "$work/other.gguf" >/dev/null

echo "== arm64: shader and runtime tests (CPU references, validation on)"
# Every kernel over awkward shapes against CPU loops, the limits and quirks checks; the
# real-model forward passes (minutes each under emulation) are left to the native run, and
# so are the [sweep] tests (every GEMV form times every fused variant: a few hundred
# pipelines, minutes to compile under emulation; the fused kernels still run here in the
# synthetic models' forward passes, and every shader compiles in [vk]).
run "$build/tests/glowq_runtime_tests" "[ops],[matmul]~[sweep],[int4],[dense],[lowrank],[graph],[vk],[profile],[quirks],[forward]~[real-model]~[real-shape]"

echo "== arm64: C API tests"
stamp() { echo "   ($(( $(date +%s) - built )) s)"; }
stamp
for c in ${GLOWQ_ARM64_API_CASES-paris cancel_prefill cancel_decode two_threads state errors load_fd_memory}; do
  run "$build/tests/test_c_api" "$c" "$model" "$work/other.gguf"
  stamp
done

echo "== arm64: Android baseline limits"
GLOWQ_LIMITS=android-baseline run "$build/tests/glowq_runtime_tests" "[ops],[matmul]~[sweep],[lowrank],[forward]~[real-model]~[real-shape]"
stamp
for c in ${GLOWQ_ARM64_BASELINE_CASES-paris state}; do
  GLOWQ_LIMITS=android-baseline run "$build/tests/test_c_api" "$c" "$model" "$work/other.gguf"
  stamp
done
echo "arm64: built in $((built - start)) s, tests ran in $(( $(date +%s) - built )) s"
