#!/usr/bin/env bash
# Formats seer's C sources with the repository's .clang-format.
#   bash scripts/format.sh               rewrite every tracked C file in place
#   bash scripts/format.sh FILE...       rewrite only these files
#   bash scripts/format.sh --check       only report files that differ (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--check" ]; then
  mapfile -t files < <(git ls-files '*.c' '*.h')
  clang-format --style=file --dry-run -Werror "${files[@]}"
elif [ $# -gt 0 ]; then
  clang-format --style=file -i "$@"
else
  mapfile -t files < <(git ls-files '*.c' '*.h')
  clang-format --style=file -i "${files[@]}"
fi
