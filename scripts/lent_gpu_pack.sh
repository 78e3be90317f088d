#!/usr/bin/env bash
# Packs what scripts/lent_gpu_run.sh needs on a lent GPU machine that has no network and no
# Vulkan loader (this workplace's `device` tool): glowq, the runtime tests and llama.cpp's
# llama-bench from this machine's builds (portable: no -march=native), libgomp, the Khronos
# validation layer with a manifest that finds it beside itself, into .devbin/devbin.tar.xz;
# Debian's Vulkan loader and libglvnd (the NVIDIA ICD is libGLX_nvidia, which needs
# libGLdispatch) as .deb files into .gl/. Both folders are git-ignored through
# .git/info/exclude; name them in the tool's `carry` and run `bash scripts/lent_gpu_run.sh`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
build=${GLOWQ_BUILD_DIR:-$root/build}
llama=${LLAMA_BIN:-$cache/llama.cpp-vulkan/build/bin}
cd "$root"
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
for d in /.gl/ /.devbin/; do grep -qxF "$d" "$exclude" 2> /dev/null || echo "$d" >> "$exclude"; done
ninja -C "$build" glowq glowq_runtime_tests > /dev/null
[ -x "$llama/llama-bench" ] || llama=$("$root/scripts/build_llama_cpp_vulkan.sh")
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/layer" "$stage/lib" .devbin .gl
cp "$build/glowq" "$build/tests/glowq_runtime_tests" "$stage/bin/"
strip -o "$stage/bin/llama-bench" "$llama/llama-bench"
cp /lib/x86_64-linux-gnu/libgomp.so.1 "$stage/lib/"
cp /usr/lib/x86_64-linux-gnu/libVkLayer_khronos_validation.so "$stage/layer/"
sed 's#"library_path": "libVkLayer#"library_path": "./libVkLayer#' \
  /usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json > "$stage/layer/VkLayer_khronos_validation.json"
tar cJf .devbin/devbin.tar.xz -C "$stage" bin layer lib
(cd .gl && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>&1 | grep -v unsandboxed >&2 || true)
du -sh .devbin .gl >&2
