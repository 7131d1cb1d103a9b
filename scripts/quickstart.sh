#!/usr/bin/env bash
# One command for a newcomer: install dependencies, build, run the main job.
# Offline by default (every role on the built-in mockllm/model); with API keys
# in the environment or ./.env, pass real models through SEER_MODEL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
exec build/seer demo --jobs "${SEER_JOBS:-50}" --out "${SEER_OUT:-runs/demo-$(date +%Y%m%d-%H%M%S)}"
