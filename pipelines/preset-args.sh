#!/usr/bin/env bash
# Usage: preset-args.sh FILE — prints a preset's kd-train flags on one line (comments and blank lines dropped).
set -euo pipefail
[[ -f $1 ]] || { echo "preset-args: no preset file $1 (see pipelines/presets/)" >&2; exit 1; }
sed -e 's/#.*//' "$1" | tr -s ' \t\n' ' ' | sed -e 's/^ //' -e 's/ $//'
