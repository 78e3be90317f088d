#!/usr/bin/env bash
# Builds llama.cpp (CPU only, Release) from the llama-cpp-python 0.3.36 source archive, as
# the peer that glowq's perplexity and speed are compared against. Only the tools the
# comparisons use are built: llama-perplexity, llama-bench and llama-completion (this
# version's llama-cli needs the server, which is left out). Prints the bin directory.
# Idempotent: an existing build of the same version is reused.
#   GLOWQ_CACHE   cache root (default ~/.cache/glowq); the build goes to $GLOWQ_CACHE/llama.cpp-cpu
#   GLOWQ_JOBS    parallel compile jobs (default 2)
set -euo pipefail
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
version=0.3.36
archive=$cache/llama_cpp_python-$version.tar.gz
dest=$cache/llama.cpp-cpu
jobs=${GLOWQ_JOBS:-2}
targets=(llama-perplexity llama-bench llama-completion)

have_all() {
  [ "$(cat "$dest/.version" 2>/dev/null || true)" = "$version" ] || return 1
  for t in "${targets[@]}"; do [ -x "$dest/build/bin/$t" ] || return 1; done
}
if have_all; then echo "$dest/build/bin"; exit 0; fi

mkdir -p "$cache"
if [ ! -f "$archive" ]; then
  echo "build_llama_cpp: downloading llama-cpp-python==$version source" >&2
  python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
    "llama-cpp-python==$version" -d "$cache" >&2
fi

if [ ! -f "$dest/src/CMakeLists.txt" ]; then
  rm -rf "$dest"
  tmp=$(mktemp -d "$cache/llama.cpp-src.XXXXXX")
  tar -xzf "$archive" -C "$tmp" "llama_cpp_python-$version/vendor/llama.cpp"
  mkdir -p "$dest"
  mv "$tmp/llama_cpp_python-$version/vendor/llama.cpp" "$dest/src"
  rm -rf "$tmp"
fi

# Native CPU code (the comparison is on this machine); no network features, no server.
cmake -S "$dest/src" -B "$dest/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DGGML_VULKAN=OFF -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_NATIVE=ON \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$dest/build" --target "${targets[@]}" -j "$jobs" >&2
echo "$version" > "$dest/.version"
echo "$dest/build/bin"
