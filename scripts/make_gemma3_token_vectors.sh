#!/usr/bin/env bash
# Writes tests/data/gemma3-270m.tokens.inp and .out: the texts of
# tests/data/gemma3_tokenizer_texts.py and the ids llama.cpp's tokenizer gives each with
# Gemma 3's vocabulary (llama-tokenize from scripts/build_llama_cpp.sh: no BOS, backslash
# sequences taken as they are, special tokens parsed as that tool does by default), in
# llama.cpp's vocabulary-test format. The test reads the committed
# files; rerun this after changing the texts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$("$root/scripts/build_llama_cpp.sh")
model=$("$root/scripts/fetch_model.sh" gemma3)
inp=$root/tests/data/gemma3-270m.tokens.inp
out=$root/tests/data/gemma3-270m.tokens.out
python3 "$root/tests/data/gemma3_tokenizer_texts.py" "$inp" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One text per file (they hold newlines); llama-tokenize --ids prints "[1, 2, 3]".
python3 - "$inp" "$tmp" <<'PY'
import sys
texts = open(sys.argv[1], encoding="utf-8", newline="").read().split("\n__ggml_vocab_test__\n")
for i, t in enumerate(texts):
    open(f"{sys.argv[2]}/{i:04d}.txt", "w", encoding="utf-8", newline="").write(t)
PY
: > "$out"
for f in "$tmp"/*.txt; do
  ids=$("$bin/llama-tokenize" -m "$model" -f "$f" --ids --no-bos --no-escape --log-disable 2>/dev/null | tail -n 1)
  echo "$ids" | tr -d '[],' | sed -E 's/^ +//' >> "$out"
done
echo "$(wc -l < "$out") texts -> $out" >&2
