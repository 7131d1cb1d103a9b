#!/usr/bin/env bash
# Installs what seer needs to build, test and run on Debian 12 (bookworm).
# Uses sudo when not root.  Safe to run again.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
pkgs=(build-essential meson ninja-build pkg-config
      libcurl4-openssl-dev libcjson-dev libarchive-dev libzstd-dev libcmocka-dev libmicrohttpd-dev
      bubblewrap python3 valgrind zstd ca-certificates curl clang-format
      chromium)   # chromium: the interop suite opens transcripts and reports in a real browser
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
