#!/usr/bin/env bash
# tools/check_format.sh — every tracked C++ and CUDA source checked against .clang-format
# (clang-format --dry-run -Werror): lists the files that differ and exits 1 when there is one.
#
#   tools/check_format.sh          check; `clang-format --dry-run FILE` shows what differs in FILE
#   tools/check_format.sh --fix    format the files that differ, in place
#
# clang-format 14 is the reference; other versions may lay out a few constructs differently.
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
case "${1:-}" in
  '') ;;
  --fix) fix=1 ;;
  *) echo "usage: tools/check_format.sh [--fix]" >&2; exit 2 ;;
esac
command -v clang-format >/dev/null || { echo "check_format.sh: clang-format is not on PATH" >&2; exit 2; }

mapfile -d '' files < <(git ls-files -z -- '*.cpp' '*.hpp' '*.cu' '*.cuh' '*.h')
# One clang-format per file, on every core: the names of those that differ, in order.
mapfile -t differ < <(printf '%s\0' "${files[@]}" |
  xargs -0 -n 1 -P "$(nproc)" sh -c 'clang-format --dry-run -Werror "$1" >/dev/null 2>&1 || echo "$1"' sh | sort)

if [ ${#differ[@]} -eq 0 ]; then
  echo "check_format.sh: ${#files[@]} files, all formatted ($(clang-format --version | sed -n 1p))"
  exit 0
fi
if [ "$fix" = 1 ]; then
  clang-format -i "${differ[@]}"
  echo "check_format.sh: formatted ${#differ[@]} of ${#files[@]} files"
  exit 0
fi
printf '%s\n' "${differ[@]}"
echo "check_format.sh: ${#differ[@]} of ${#files[@]} files differ from .clang-format ($(clang-format --version | sed -n 1p));" \
  "tools/check_format.sh --fix formats them"
exit 1
