#!/usr/bin/env bash
# The main job: install and build if needed, fetch the default model if it is not cached,
# then generate text with it (arguments go to `glowq run`; default: a short chat prompt).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" >&2
model=$("$root/scripts/fetch_model.sh")
if [ $# -eq 0 ]; then
  set -- -p "Explain in two sentences why the sky is blue."
fi
exec "${GLOWQ_BUILD_DIR:-$root/build}/glowq" run -m "$model" "$@"
