#!/usr/bin/env bash
# Fetches llama.cpp's tokenizer test vectors (vocabulary-only GGUF files with .inp/.out
# case files) into ${GLOWQ_CACHE:-~/.cache/glowq}/vocab/. They ship inside the pinned
# llama-cpp-python source archive on PyPI, the one registry these machines reach.
# Idempotent: does nothing when the files are already there.
set -euo pipefail

version=0.3.36
sha256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
names=(gpt-2 llama-bpe llama-spm qwen2 starcoder)

cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
dest=$cache/vocab

wanted=()
for n in "${names[@]}"; do
  for ext in gguf gguf.inp gguf.out; do wanted+=("ggml-vocab-$n.$ext"); done
done

missing=0
for f in "${wanted[@]}"; do [ -s "$dest/$f" ] || missing=1; done
if [ "$missing" = 0 ]; then
  echo "fetch_vocab_tests: $dest is complete"
  exit 0
fi

mkdir -p "$cache" "$dest"
sdist=$cache/llama_cpp_python-$version.tar.gz
if [ ! -f "$sdist" ] || ! echo "$sha256  $sdist" | sha256sum -c --status; then
  tmp=$(mktemp -d "$cache/.dl.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch_vocab_tests: downloading llama-cpp-python $version source (~77 MB)"
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp" "llama-cpp-python==$version"
  echo "$sha256  $tmp/llama_cpp_python-$version.tar.gz" | sha256sum -c --status ||
    { echo "fetch_vocab_tests: checksum mismatch for the downloaded archive" >&2; exit 1; }
  mv "$tmp/llama_cpp_python-$version.tar.gz" "$sdist"
fi

prefix=llama_cpp_python-$version/vendor/llama.cpp/models
members=()
for f in "${wanted[@]}"; do members+=("$prefix/$f"); done
tar -xzf "$sdist" -C "$dest" --strip-components=4 "${members[@]}"
echo "fetch_vocab_tests: extracted ${#wanted[@]} files to $dest"
