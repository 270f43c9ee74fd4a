#!/usr/bin/env bash
# Configures, builds and runs the whole test suite (ctest). KD_SHARED points at the shared fixtures (../shared).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${KD_BUILD_DIR:-build}
jobs=${KD_JOBS:-$(nproc)}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs"
export KD_SHARED=${KD_SHARED:-$(cd .. && pwd)/shared}
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
