#!/usr/bin/env bash
# Builds llama.cpp with its Vulkan backend (plus the CPU backend, Release) from the
# llama-cpp-python 0.3.36 source archive, as the peer for glowq's speed comparison
# (scripts/bench_vs_llamacpp.sh). Only llama-bench and llama-quantize are built.
# Prints the bin directory. Idempotent: an existing build of the same version is reused.
#   GLOWQ_CACHE   cache root (default ~/.cache/glowq); the build goes to $GLOWQ_CACHE/llama.cpp-vulkan
#   GLOWQ_JOBS    parallel compile jobs (default 2)
#
# Debian 12 ships Vulkan-Headers 1.3.239; this llama.cpp's ggml-vulkan.cpp already guards
# or back-fills every newer Vulkan name it uses except VK_EXT_layer_settings (2023, in
# headers well after 1.3.239), which it uses unconditionally at instance creation. The build therefore
# force-includes a tiny compatibility header (written below, into the cache) that declares
# vk::LayerSettingEXT, vk::LayerSettingTypeEXT and vk::LayerSettingsCreateInfoEXT with the
# C layout of the real ones, only when <vulkan/vulkan_core.h> lacks the extension.
# Also needed: Debian's spirv-headers package (find_package(SPIRV-Headers) in ggml-vulkan).
# glslc 2023.2 lacks coopmat/coopmat2/integer-dot/bfloat16/fp8/fp4 GLSL extensions; the
# CMake feature tests detect that and build without those shader variants.
# See docs/llamacpp-vulkan-build.md.
set -euo pipefail
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
. "$(dirname "$0")/llama_cpp_source.sh"
version="$llama_cpp_version portable"  # a build made before GGML_NATIVE=OFF is rebuilt
dest=$cache/llama.cpp-vulkan
jobs=${GLOWQ_JOBS:-2}
targets=(llama-bench llama-quantize)

have_all() {
  [ "$(cat "$dest/.version" 2>/dev/null || true)" = "$version" ] || return 1
  for t in "${targets[@]}"; do [ -x "$dest/build/bin/$t" ] || return 1; done
}
if have_all; then echo "$dest/build/bin"; exit 0; fi

# Build dependencies from Debian (only the missing ones).
packages=(libvulkan-dev glslc spirv-headers cmake ninja-build build-essential)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "build_llama_cpp_vulkan: installing ${missing[*]}" >&2
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >&2
fi

llama_cpp_unpack "$dest"

# The compatibility header (a no-op with Vulkan-Headers that have VK_EXT_layer_settings).
shim=$dest/vk_compat_layer_settings.h
cat > "$shim.tmp" <<'EOF'
// glowq: VK_EXT_layer_settings for Vulkan-Headers older than 1.3.2xx (Debian 12: 1.3.239).
// Force-included (-include) into llama.cpp's C++ sources by scripts/build_llama_cpp_vulkan.sh.
#pragma once
#if defined(__cplusplus) && __has_include(<vulkan/vulkan_core.h>)
#include <vulkan/vulkan_core.h>
#include <cstdint>
#include <vector>
#if !defined(VK_EXT_layer_settings)
namespace vk {
enum class LayerSettingTypeEXT : int32_t {
  eBool32 = 0, eInt32 = 1, eInt64 = 2, eUint32 = 3, eUint64 = 4, eFloat32 = 5, eFloat64 = 6, eString = 7
};
struct LayerSettingEXT {  // layout of VkLayerSettingEXT
  const char *pLayerName;
  const char *pSettingName;
  LayerSettingTypeEXT type;
  uint32_t valueCount;
  const void *pValues;
};
struct LayerSettingsCreateInfoEXT {  // layout of VkLayerSettingsCreateInfoEXT
  VkStructureType sType = static_cast<VkStructureType>(1000496000);  // ..._LAYER_SETTINGS_CREATE_INFO_EXT
  const void *pNext = nullptr;
  uint32_t settingCount = 0;
  const LayerSettingEXT *pSettings = nullptr;
  explicit LayerSettingsCreateInfoEXT(const std::vector<LayerSettingEXT> &s)
      : settingCount(static_cast<uint32_t>(s.size())), pSettings(s.data()) {}
};
}  // namespace vk
#endif
#endif
EOF
if cmp -s "$shim.tmp" "$shim"; then rm -f "$shim.tmp"; else mv "$shim.tmp" "$shim"; fi

# Portable CPU code (GGML_NATIVE=OFF): the binaries also travel to other machines (a GPU
# machine for docs/bench/), and with -ngl 99 the CPU backend does next to nothing. No server.
cmake -S "$dest/src" -B "$dest/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="-include $shim" \
  -DGGML_VULKAN=ON -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_NATIVE=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$dest/build" --target "${targets[@]}" -j "$jobs" >&2
echo "$version" > "$dest/.version"
echo "$dest/build/bin"
