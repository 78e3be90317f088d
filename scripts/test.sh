#!/usr/bin/env bash
# The test command of README.md (and of .ci/run): install, build, fetch the test data
# (the real model, tokenizer vectors, reference fixtures), run the loader under
# AddressSanitizer/UBSan and the GGUF fuzzer for a bounded time, the C API under
# AddressSanitizer and ThreadSanitizer and its fuzzer for a bounded time, check what
# `cmake --install` ships, then every test with ctest on the Vulkan device present
# (lavapipe without a GPU), validation on, once as the device is and once within the
# Android baseline limits, and last the arm64 cross build under emulation
# (GLOWQ_SKIP_ARM64=1 skips it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
build_dir=${GLOWQ_BUILD_DIR:-$root/build}

echo "== test data"
"$root/scripts/make_test_fixtures.sh" >/dev/null   # gguf-py fixtures and the real model
"$root/scripts/fetch_vocab_tests.sh" >/dev/null    # llama.cpp's tokenizer test vectors
"$root/scripts/fetch_botchan.sh" >/dev/null
if [ -x "$root/scripts/make_reference_logits.sh" ]; then
  "$root/scripts/make_reference_logits.sh" >/dev/null  # numpy forward pass: the model oracle
fi

if [ "${GLOWQ_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== loader under AddressSanitizer/UBSan"
  "$root/scripts/test_sanitizers.sh"
  echo "== GGUF reader fuzzing (${GLOWQ_FUZZ_SECONDS:=60} s)"
  GLOWQ_FUZZ_SECONDS=$GLOWQ_FUZZ_SECONDS "$root/scripts/fuzz_loader.sh"
  echo "== C API under AddressSanitizer/UBSan and ThreadSanitizer"
  "$root/scripts/test_api_sanitizers.sh"
  echo "== C API fuzzing (${GLOWQ_API_FUZZ_SECONDS:=60} s)"
  GLOWQ_API_FUZZ_SECONDS=$GLOWQ_API_FUZZ_SECONDS "$root/scripts/fuzz_c_api.sh"
fi

echo "== installed library: pkg-config and find_package programs"
"$root/scripts/test_install.sh"

echo "== all tests"
export GLOWQ_VALIDATION=1
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"

echo "== all tests within the Android baseline limits"
# (the desktop app renders with the device's own limits: not a phone program)
# (the CPU reference's checks against numpy, and GPTQ on SmolLM2's matrices, touch no
# device: once is enough; eight threads cancelling each other test the API's threading,
# which the limits do not change)
GLOWQ_LIMITS=android-baseline ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" \
  -E '^chat_app|^reference forward|^GPTQ|^api.eight_threads' "$@"

if [ "${GLOWQ_SKIP_ARM64:-0}" != 1 ]; then
  echo "== arm64: cross build, kernels and the C API under qemu"
  GLOWQ_ARM64_API_CASES=${GLOWQ_ARM64_API_CASES:-paris} GLOWQ_ARM64_BASELINE_CASES=${GLOWQ_ARM64_BASELINE_CASES:-} \
    "$root/scripts/test_arm64.sh"
fi
