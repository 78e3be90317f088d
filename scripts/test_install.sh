#!/usr/bin/env bash
# What an embedding program sees: installs the build into a temporary prefix, then builds a
# C program outside the tree against the installed files only, once with pkg-config and
# once with CMake's find_package(glowq), and streams an answer from SmolLM2 with each.
# Also checks that libglowq.so exports only glowq_* symbols and that no shipped code was
# compiled with -march=native.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${GLOWQ_BUILD_DIR:-$root/build}
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
model=${GLOWQ_MODEL:-$cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
lib=$(dirname "$(find "$work/prefix" -name 'libglowq.so' | head -1)")
others=$(nm -D --defined-only "$lib/libglowq.so" | awk '{print $3}' | grep -v '^glowq_' || true)
[ -z "$others" ] || { echo "libglowq.so exports more than the C API: $others"; exit 1; }
echo "install: libglowq.so exports $(nm -D --defined-only "$lib/libglowq.so" | wc -l) symbols, all glowq_*"
if grep -q -- '-march=native' "$build/compile_commands.json"; then
  echo "some code was compiled with -march=native:"; grep -o '"file": "[^"]*"' "$build/compile_commands.json" | head; exit 1
fi

mkdir -p "$work/app"
cp "$root/apps/examples/stream.c" "$work/app/prog.c"
export PKG_CONFIG_PATH="$lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -pedantic "$work/app/prog.c" $(pkg-config --cflags --libs glowq) -o "$work/app/prog"
LD_LIBRARY_PATH="$lib" "$work/app/prog" "$model" "What is the capital of France?" 24 | tee "$work/out.txt"
grep -q Paris "$work/out.txt" || { echo "pkg-config build: no Paris in the answer"; exit 1; }

cat > "$work/app/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.22)
project(prog C)
find_package(glowq 0.2 REQUIRED)
add_executable(prog prog.c)
target_link_libraries(prog PRIVATE glowq::glowq)
CMAKE
cmake -S "$work/app" -B "$work/app/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/app/build" >/dev/null
"$work/app/build/prog" "$model" "What is the capital of France?" 24 | grep -q Paris ||
  { echo "find_package build: no Paris in the answer"; exit 1; }
echo "install: pkg-config and find_package(glowq) programs answered from the installed library"
