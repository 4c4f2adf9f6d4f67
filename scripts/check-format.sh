#!/usr/bin/env bash
# Checks that every tracked C++ file is formatted as .clang-format says (clang-format 16, which
# scripts/install-deps.sh installs). `scripts/check-format.sh --fix` rewrites them instead.
# Run by scripts/test.sh before the build.
set -euo pipefail
cd "$(dirname "$0")/.."
format=${CLANG_FORMAT:-clang-format-16}
mapfile -t files < <(git ls-files '*.cc' '*.h')
if [[ "${1:-}" == --fix ]]; then
  "$format" -i "${files[@]}"
  exit 0
fi
if ! "$format" --dry-run --Werror "${files[@]}" 2> /tmp/gantry-format.$$; then
  grep -m 20 "error:" /tmp/gantry-format.$$ || true
  rm -f /tmp/gantry-format.$$
  echo "check-format: files differ from .clang-format; run scripts/check-format.sh --fix" >&2
  exit 1
fi
rm -f /tmp/gantry-format.$$
echo "check-format: ${#files[@]} files formatted"
