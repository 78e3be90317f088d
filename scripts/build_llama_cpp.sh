#!/usr/bin/env bash
# Builds llama.cpp (CPU only, Release) from the llama-cpp-python 0.3.36 source archive, as
# the peer that glowq's perplexity and speed are compared against. Only the tools the
# comparisons use are built: llama-perplexity, llama-bench, llama-completion and
# llama-tokenize (this version's llama-cli needs the server, which is left out). Prints
# the bin directory.
# Idempotent: an existing build of the same version is reused.
#   GLOWQ_CACHE   cache root (default ~/.cache/glowq); the build goes to $GLOWQ_CACHE/llama.cpp-cpu
#   GLOWQ_JOBS    parallel compile jobs (default 2)
set -euo pipefail
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
. "$(dirname "$0")/llama_cpp_source.sh"
# The build's flavour is part of its version: a native build (AMX, AVX-512 where the CPU
# reports them) died with an illegal instruction in a VM whose CPU reports AMX.
version="$llama_cpp_version avx2"
dest=$cache/llama.cpp-cpu
jobs=${GLOWQ_JOBS:-2}
targets=(llama-perplexity llama-bench llama-completion llama-tokenize)

have_all() {
  [ "$(cat "$dest/.version" 2>/dev/null || true)" = "$version" ] || return 1
  for t in "${targets[@]}"; do [ -x "$dest/build/bin/$t" ] || return 1; done
}
if have_all; then echo "$dest/build/bin"; exit 0; fi

llama_cpp_unpack "$dest"

# AVX2/FMA/F16C on x86-64 (what glowq's own CPU paths may use), not -march=native; no
# network features, no server.
isa=()
[ "$(uname -m)" = x86_64 ] && isa=(-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON)
cmake -S "$dest/src" -B "$dest/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DGGML_VULKAN=OFF -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_NATIVE=OFF "${isa[@]}" \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$dest/build" --target "${targets[@]}" -j "$jobs" >&2
echo "$version" > "$dest/.version"
echo "$dest/build/bin"
