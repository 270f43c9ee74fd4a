#!/usr/bin/env bash
# Usage: fetch.sh URL OUT — downloads URL to OUT (resumable, atomic) and checks its SHA-256 against
# pipelines/checksums/SHA256SUMS (lines "HASH  NAME", NAME = OUT's file name; see that file for which are known).
#   - listed: a mismatch deletes the download and fails;
#   - not listed: prints the computed hash marked UNVERIFIED and continues, or fails when KD_REQUIRE_CHECKSUMS=1.
set -euo pipefail
url=$1
out=$2
sums="$(cd "$(dirname "$0")" && pwd)/checksums/SHA256SUMS"
name=$(basename "$out")
mkdir -p "$(dirname "$out")"
echo "fetch: $url -> $out" >&2
curl -fL --retry 3 --retry-delay 5 -C - --progress-bar -o "$out.part" "$url"
got=$(sha256sum "$out.part" | cut -d' ' -f1)
want=$(grep -v '^#' "$sums" 2>/dev/null | awk -v n="$name" '$2 == n { print $1 }' | head -1 || true)
if [[ -n $want ]]; then
  if [[ $got != "$want" ]]; then
    rm -f "$out.part"
    echo "fetch: checksum mismatch for $name: expected $want, got $got (download removed)" >&2
    exit 1
  fi
  echo "fetch: $name sha256 verified" >&2
else
  echo "fetch: UNVERIFIED $name: no checksum in $sums; computed sha256 $got" >&2
  if [[ ${KD_REQUIRE_CHECKSUMS:-0} == 1 ]]; then rm -f "$out.part"; exit 1; fi
fi
mv -f "$out.part" "$out"
