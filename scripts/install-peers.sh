#!/usr/bin/env bash
# Installs the real peers (MCP reference servers, MCP TypeScript SDK, the
# official Anthropic SDK) from npm into tests/interop/node_modules, exactly as
# pinned by tests/interop/package-lock.json.  Needs Node.js >= 20 and npm.
set -euo pipefail
cd "$(dirname "$0")/../tests/interop"
if ! command -v npm >/dev/null; then
  echo "install-peers: npm not found; the interop suite needs Node.js 20 and npm" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
