#!/usr/bin/env bash
# Usage: stamp.sh FILE VALUE — writes VALUE to FILE only when FILE's content differs, so FILE's mtime changes exactly
# when VALUE does (make rebuilds what depends on a stage's options, and nothing when they are unchanged). Prints FILE.
set -euo pipefail
file=$1
value=$2
mkdir -p "$(dirname "$file")"
if [[ ! -f $file ]] || [[ "$(cat "$file")" != "$value" ]]; then
  tmp="$file.tmp.$$"
  printf '%s\n' "$value" >"$tmp"
  mv -f "$tmp" "$file"
fi
printf '%s\n' "$file"
