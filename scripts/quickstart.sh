#!/usr/bin/env bash
# One command for a newcomer: install dependencies, build, run the main job.
# Offline by default (every role on the built-in mockllm/model); with API keys
# in the environment or ./.env, pass real models through SEER_AUDITOR,
# SEER_TARGET and SEER_JUDGE.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d build ] || meson setup build
ninja -C build
mkdir -p runs
exec build/seer audit --auditor "${SEER_AUDITOR:-mockllm/model}" \
    --target "${SEER_TARGET:-mockllm/model}" --judge "${SEER_JUDGE:-mockllm/model}" \
    --seeds "${SEER_SEEDS:-tag:sycophancy}" --epochs "${SEER_EPOCHS:-2}" \
    --out "${SEER_OUT:-runs/audit-$(date +%Y%m%d-%H%M%S)}"
