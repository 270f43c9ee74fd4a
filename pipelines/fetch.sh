#!/usr/bin/env bash
# Usage: fetch.sh URL OUT — downloads URL to OUT (resumable, atomic) and checks its SHA-256 against the sums file
# (KD_SHA256SUMS, default pipelines/checksums/SHA256SUMS; lines "HASH  NAME", NAME = OUT's file name).
#   - listed: a mismatch deletes the download and fails;
#   - not listed: prints the computed hash marked UNVERIFIED and continues, or fails when KD_REQUIRE_CHECKSUMS=1.
# Every failure (HTTP error such as 404, network, checksum) exits 1 with a line naming the URL.
set -euo pipefail
url=$1
out=$2
sums=${KD_SHA256SUMS:-"$(cd "$(dirname "$0")" && pwd)/checksums/SHA256SUMS"}
name=$(basename "$out")
mkdir -p "$(dirname "$out")"
echo "fetch: $url -> $out" >&2
status=0
code=$(curl -fL --retry 3 --retry-delay 5 -C - --progress-bar -w '%{http_code}' -o "$out.part" "$url") || status=$?
if [[ $status != 0 ]]; then
  [[ -s $out.part ]] || rm -f "$out.part"  # keep a partial download for resuming, not an empty file
  echo "fetch: FAILED to download $url (HTTP ${code:-none}, curl exit $status); nothing written to $out" >&2
  exit 1
fi
got=$(sha256sum "$out.part" | cut -d' ' -f1)
want=$(grep -v '^#' "$sums" 2>/dev/null | awk -v n="$name" '$2 == n { print $1 }' | head -1 || true)
if [[ -n $want ]]; then
  if [[ $got != "$want" ]]; then
    rm -f "$out.part"
    echo "fetch: checksum MISMATCH for $url: expected $want (from $sums), got $got; download removed" >&2
    exit 1
  fi
  echo "fetch: $name sha256 verified" >&2
else
  echo "fetch: UNVERIFIED $url: no checksum for $name in $sums; computed sha256 $got" >&2
  if [[ ${KD_REQUIRE_CHECKSUMS:-0} == 1 ]]; then
    rm -f "$out.part"
    echo "fetch: KD_REQUIRE_CHECKSUMS=1 refuses the unverified download of $url" >&2
    exit 1
  fi
fi
mv -f "$out.part" "$out"
