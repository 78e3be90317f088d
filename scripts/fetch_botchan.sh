#!/usr/bin/env bash
# Fetches test/botchan.txt (a public-domain English novel SentencePiece uses as training
# and test text) from the sentencepiece 0.2.1 source archive on PyPI into
# ${GLOWQ_CACHE:-~/.cache/glowq}/botchan.txt (where the tokenizer tests read it) and prints its path. Idempotent.
set -euo pipefail
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
version=0.2.1
sha256=464bd5300c24fce16fcc4555d4231a57632caae4d0090ad6aa92854a3b227ba7
dest=$cache/botchan.txt

ok() { [ -f "$1" ] && echo "$sha256  $1" | sha256sum -c --status; }
if ok "$dest"; then echo "$dest"; exit 0; fi

mkdir -p "$cache"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch_botchan: downloading sentencepiece==$version source" >&2
python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
  "sentencepiece==$version" -d "$tmp" >&2
tar -xzf "$tmp/sentencepiece-$version.tar.gz" -C "$tmp" "sentencepiece-$version/test/botchan.txt"
if ! ok "$tmp/sentencepiece-$version/test/botchan.txt"; then
  echo "fetch_botchan: checksum mismatch (expected $sha256)" >&2
  exit 1
fi
mv "$tmp/sentencepiece-$version/test/botchan.txt" "$dest"
echo "$dest"
