#!/usr/bin/env bash
# The main job: install and build if needed, then run glowq.
# Today it lists the Vulkan devices and their capabilities.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" >&2
exec "${GLOWQ_BUILD_DIR:-$root/build}/glowq" info "$@"
