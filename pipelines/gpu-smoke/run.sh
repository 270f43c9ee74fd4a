#!/usr/bin/env bash
# Builds and runs the GPU smoke test on a machine with PyTorch (its LibTorch is used) and a CUDA GPU:
# 100 fp16-autocast steps and 100 bf16 steps of the seed image student. Run from the repo root; nlohmann-json
# headers come from the system or from KD_JSON_INCLUDE (e.g. a carried copy of /usr/include).
set -euo pipefail
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
build=${BUILD:-build-gpu-smoke}
json=${KD_JSON_INCLUDE:-}
[[ -z $json && ! -f /usr/include/nlohmann/json.hpp && -d .gpu-deps/include ]] && json=$PWD/.gpu-deps/include
cmake -S pipelines/gpu-smoke -B "$build" -DCMAKE_PREFIX_PATH="$prefix" -DKD_JSON_INCLUDE="$json" >/dev/null
cmake --build "$build" -j "$(nproc)"
device=${DEVICE:-cuda}
"$build/gpu_train_smoke" --device "$device" --precision 16 --steps "${STEPS:-100}"
"$build/gpu_train_smoke" --device "$device" --precision bf16 --steps "${STEPS:-100}"
