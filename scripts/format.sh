#!/usr/bin/env bash
# clang-format over every C++ file git tracks (src, tools, tests, fuzz, bench), with the
# repository's .clang-format and clang-format 14 (the version CI installs; others format
# differently).
#   scripts/format.sh          rewrites the files in place
#   scripts/format.sh --check  changes nothing; lists the files that are not formatted, exit 1
set -euo pipefail
cd "$(dirname "$0")/.."

mode=fix
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  *) echo "usage: scripts/format.sh [--check]" >&2; exit 2 ;;
esac

formatter=${CLANG_FORMAT:-clang-format-14}
if ! command -v "$formatter" >/dev/null 2>&1; then
  echo "format: $formatter not found (apt-get install clang-format-14, or set CLANG_FORMAT)" >&2
  exit 2
fi

mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' '*.h' '*.cc')
if [[ $mode == fix ]]; then
  printf '%s\0' "${files[@]}" | xargs -0 -n 50 "$formatter" -i --style=file
  exit 0
fi

unformatted=()
for f in "${files[@]}"; do
  if ! "$formatter" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then unformatted+=("$f"); fi
done
if [[ ${#unformatted[@]} -gt 0 ]]; then
  printf '%s\n' "${unformatted[@]}"
  echo "format: ${#unformatted[@]} of ${#files[@]} files are not formatted; run make format" >&2
  exit 1
fi
echo "format: ${#files[@]} files formatted"
