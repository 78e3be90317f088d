#!/usr/bin/env bash
# Generates the loader tests' reference fixtures with PyPI's gguf package (an independent
# GGUF implementation) and fetches the real SmolLM2 model for the [real-model] test.
# Idempotent: a virtual environment and the fixtures are reused while the generator
# script and the pinned versions are unchanged.
#   GLOWQ_CACHE     cache root (default ~/.cache/glowq)
#   GLOWQ_FIXTURES  where fixtures go (default $GLOWQ_CACHE/fixtures); the tests read it too
#   GLOWQ_SKIP_MODEL=1  do not fetch the real models
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${GLOWQ_CACHE:-$HOME/.cache/glowq}
out=${GLOWQ_FIXTURES:-$cache/fixtures}
venv=$cache/venv-gguf
gguf_version=0.17.1
numpy_version=2.1.3

if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; \
sys.exit(0 if m.version('gguf') == '$gguf_version' and m.version('numpy') == '$numpy_version' else 1)" 2>/dev/null; then
  echo "fixtures: installing gguf==$gguf_version numpy==$numpy_version into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "gguf==$gguf_version" "numpy==$numpy_version"
fi

stamp=$( (cat "$root/tests/data/make_gguf_fixtures.py"; echo "$gguf_version $numpy_version") | sha256sum | cut -c1-16)
if [ "$(cat "$out/.stamp" 2>/dev/null || true)" != "$stamp" ]; then
  echo "fixtures: generating into $out" >&2
  tmp=$(mktemp -d "${out%/}.tmp.XXXXXX")
  "$venv/bin/python" "$root/tests/data/make_gguf_fixtures.py" "$tmp"
  echo "$stamp" > "$tmp/.stamp"
  rm -rf "$out"
  mv "$tmp" "$out"
fi
# The writer test runs gguf's reader on files it writes, with this interpreter (a wrapper,
# not a symlink: a venv's python finds its packages only when called by its own path).
rm -f "$out/python"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$venv/bin/python" > "$out/python"
chmod +x "$out/python"

if [ "${GLOWQ_SKIP_MODEL:-0}" != 1 ]; then
  "$root/scripts/fetch_model.sh" >/dev/null
  "$root/scripts/fetch_model.sh" gemma3 >/dev/null
fi
echo "$out"
