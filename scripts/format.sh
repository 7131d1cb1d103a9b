#!/usr/bin/env bash
# Formats seer's C sources with the repository's .clang-format.
#   bash scripts/format.sh           rewrite the files in place
#   bash scripts/format.sh --check   only report files that differ (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.h')
if [ "${1:-}" = "--check" ]; then
  clang-format --style=file --dry-run -Werror "${files[@]}"
else
  clang-format --style=file -i "${files[@]}"
fi
