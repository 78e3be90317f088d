#!/usr/bin/env bash
# Installs what glowq needs from Debian's packages (idempotent: only missing ones),
# then configures and builds into build/. Safe to run again; it does only what is left.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build pkg-config python3 python3-pip python3-venv
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  glslc glslang-tools spirv-tools
  libglfw3-dev libimgui-dev libeigen3-dev catch2 xvfb xauth clang libclang-rt-14-dev
  nlohmann-json3-dev libstb-dev fonts-dejavu-core openjdk-17-jdk-headless
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build_dir=${GLOWQ_BUILD_DIR:-$root/build}
build_type=${GLOWQ_BUILD_TYPE:-Release}
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" ${GLOWQ_CMAKE_ARGS:-}
fi
cmake --build "$build_dir" -j "$(nproc)"
