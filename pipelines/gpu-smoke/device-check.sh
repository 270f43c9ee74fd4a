#!/usr/bin/env bash
# kd's checks on a CUDA machine that has PyTorch (its LibTorch 2.x is what we build against), nvcc and a GPU, but
# none of kd's other dependencies. Run from the repo root after pipelines/gpu-smoke/pack-device-deps.sh filled
# .gpu-deps/ (carry it there). Stages, in order of importance; a failed stage does not stop the later ones:
#   env          versions: GPU, driver, torch, CUDA, nvcc, g++, cmake; where nccl.h is
#   configure    cmake -S pipelines/gpu-smoke with the CUDA LibTorch (find_package(Torch), NCCL on when nccl.h is found)
#   build        kd_torch_core + gpu_train_smoke + gpu_golden_check (if configure failed: the same with g++ directly)
#   train-fp16   100 steps of the seed image student, fp16 autocast + kd's loss scaler, inf injected at step 50
#   train-bf16   the same in bf16 autocast
#   golden       the golden tiny CLIP (HF folder and TorchScript archive) on CUDA against OpenAI's reference; writes
#                the HF export that the next stage loads
#   hf-export    transformers' CLIPModel loads kd's HF export; outputs against the reference
#   bench        ViT-B/32 image and text forward, fp32/bf16/fp16, batch 256: kd beside bench/teacher_forward_ref.py
#   compile      every kd source file (library, tools, tests, benchmarks) compiled against this LibTorch, with NCCL
#   cxx20        kd_torch_core compiled as C++20 (LibTorch >= 2.12 requires it)
# Output in $OUT (default ./gpu-check-out): summary.txt ("stage rc seconds" lines), stages.log (every stage's output
# but the compile check's), compile.log and compile-errors.txt. DEVICE (default cuda) and STEPS (default 100) let
# the script be tried on a CPU machine (DEVICE=cpu skips the fp16 stages, which need CUDA); DIRECT=1 skips CMake
# and builds with g++ directly; BENCH_BATCH (default 256) sets the benchmark's batch.
set -uo pipefail
out=${OUT:-$PWD/gpu-check-out}
deps=$PWD/.gpu-deps
build=${BUILD:-/tmp/kd-gpu-build}
njobs=$(nproc)
mkdir -p "$out" "$build"
[[ -d $deps/include && -f $deps/golden/reference.safetensors ]] ||
  { echo "device-check: $deps is missing or incomplete: run pipelines/gpu-smoke/pack-device-deps.sh here first" >&2; exit 2; }

device=${DEVICE:-cuda}
steps=${STEPS:-100}

stage() {  # stage NAME COMMAND...: runs COMMAND, its output appended to $out/stages.log; records rc and seconds
  local name=$1 t0=$SECONDS rc log=$out/stages.log
  shift
  [[ $name == compile ]] && log=$out/compile.log
  echo "== $name: $*" | tee "$out/$name.running"
  "$@" >>"$out/$name.running" 2>&1
  rc=$?
  cat "$out/$name.running" >>"$log"
  printf '%-11s rc=%-3d %4ds\n' "$name" "$rc" $((SECONDS - t0)) | tee -a "$out/summary.txt"
  tail -n 8 "$out/$name.running"
  rm -f "$out/$name.running"
  return $rc
}

torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
torch_lib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
site=$(python3 -c 'import site; print(" ".join(site.getsitepackages()))')
nccl_h=$(find $site /usr/local /usr/include -name nccl.h -path '*include*' 2>/dev/null | head -n 1)
export CUDACXX=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
export PATH=$(dirname "$CUDACXX"):$PATH

env_report() {
  nvidia-smi -L && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), "cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI)'
  echo "cmake prefix: $torch_prefix"
  "$CUDACXX" --version | tail -n 2
  g++ --version | head -n 1
  cmake --version | head -n 1
  echo "nccl.h: ${nccl_h:-not found}"
  grep -h "C++1[47]\|C++20\|__cplusplus" "$torch_prefix/../../include/torch/csrc/api/include/torch/all.h" \
    "$torch_prefix/../../include/c10/util/C++17.h" 2>/dev/null | head -n 6
}

configure() {
  local nccl=OFF
  [[ -n $nccl_h ]] && nccl=ON
  cmake -S pipelines/gpu-smoke -B "$build" -G Ninja -DCMAKE_PREFIX_PATH="$torch_prefix" \
    -DKD_JSON_INCLUDE="$deps/include" -DKD_DEPS_INCLUDE="$deps/include" \
    -DKD_WITH_NCCL=$nccl -DKD_NCCL_INCLUDE="$(dirname "${nccl_h:-/x/x}")"
}

build_cmake() { cmake --build "$build" -j "$njobs" --target gpu_train_smoke gpu_golden_check teacher_forward_bench; }

build_direct() {  # the same programs without CMake, should Torch's CMake package not configure here
  local flags
  flags=$(python3 - <<'PY'
import torch
from torch.utils import cpp_extension as c
try:
    paths = c.include_paths(device_type="cuda")
except TypeError:
    paths = c.include_paths(cuda=True)
print(" ".join("-I" + p for p in paths), "-D_GLIBCXX_USE_CXX11_ABI=%d" % int(torch._C._GLIBCXX_USE_CXX11_ABI))
PY
)
  local std=17
  [[ $(python3 -c 'import torch; print(tuple(map(int, torch.__version__.split("+")[0].split(".")[:2])) >= (2, 12))') == True ]] && std=20
  local src obj objs=()
  mkdir -p "$build/direct"
  while read -r src; do
    obj=$build/direct/$(basename "$src" .cpp).o
    objs+=("$obj")
    g++ -std=c++$std -O2 -fPIC $flags -I. -isystem "$deps/include" -c "$src" -o "$obj" &
    while (($(jobs -r | wc -l) >= njobs)); do wait -n; done
  done <pipelines/gpu-smoke/core-sources.txt
  wait
  for obj in "${objs[@]}"; do [[ -f $obj ]] || { echo "build_direct: $obj was not built" >&2; return 1; }; done
  local cuda_libs=()
  [[ -f $torch_lib/libtorch_cuda.so ]] && cuda_libs=(-Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed)
  for src in pipelines/gpu-smoke/gpu_train_smoke.cpp pipelines/gpu-smoke/gpu_golden_check.cpp \
             bench/teacher_forward_bench.cpp; do
    g++ -std=c++$std -O2 $flags -I. -isystem "$deps/include" "$src" "${objs[@]}" -o "$build/$(basename "$src" .cpp)" \
      -L"$torch_lib" -Wl,-rpath,"$torch_lib" "${cuda_libs[@]}" -ltorch -ltorch_cpu -lc10 -lpthread || return 1
  done
}

bench() {  # one JSON line per measurement
  local tower dtype dtypes="fp32 bf16 fp16" batch=${BENCH_BATCH:-256}
  [[ $device == cpu ]] && dtypes="fp32 bf16"
  for tower in image text; do
    for dtype in $dtypes; do
      "$build/teacher_forward_bench" --device "$device" --tower $tower --dtype $dtype --batch "$batch" --iters 10
      python3 bench/teacher_forward_ref.py --device "$device" --tower $tower --dtype $dtype --batch "$batch" --iters 10
    done
  done
}

compile_all() {  # keep going past errors; list every file that failed
  cmake --build "$build" -j "$njobs" --target kd_compile_check -- -k 0
  local rc=$?
  echo "kd_compile_check rc=$rc"
  return $rc
}

cxx20() {
  cmake -S pipelines/gpu-smoke -B "$build-cxx20" -G Ninja -DCMAKE_PREFIX_PATH="$torch_prefix" \
    -DKD_JSON_INCLUDE="$deps/include" -DCMAKE_CXX_STANDARD=20 >/dev/null &&
    cmake --build "$build-cxx20" -j "$njobs" --target kd_torch_core
}

: >"$out/summary.txt"
stage env env_report
if [[ ${DIRECT:-0} != 1 ]] && stage configure configure; then
  stage build build_cmake
else
  stage build build_direct
fi
# The compile check (CPU only) runs beside the GPU stages on all but 4 cores; then the C++20 build.
compile_pid=
if [[ -f $build/build.ninja ]]; then
  cjobs=$((njobs > 8 ? njobs - 4 : njobs))
  (
    stage compile timeout "${COMPILE_TIMEOUT:-300}" bash -c "$(declare -f compile_all); build=$build njobs=$cjobs compile_all"
    grep -E "error:|FAILED:" "$out/compile.log" | sort | uniq | head -n 80 >"$out/compile-errors.txt"
    stage cxx20 timeout 150 bash -c "$(declare -f cxx20); build=$build deps=$deps njobs=$cjobs torch_prefix=$torch_prefix cxx20"
  ) &
  compile_pid=$!
fi
smoke=$build/gpu_train_smoke
[[ $device == cpu ]] || stage train-fp16 "$smoke" --device "$device" --precision 16 --steps "$steps" --inject-inf-step $((steps / 2))
stage train-bf16 "$smoke" --device "$device" --precision bf16 --steps "$steps" --inject-inf-step $((steps / 2))
stage golden "$build/gpu_golden_check" --device "$device" --reference "$deps/golden/reference.safetensors" \
  --model "$deps/golden/hf" --model "$deps/golden/openai-jit.pt" --hf-out /tmp/kd-hf-export
stage hf-export python3 pipelines/gpu-smoke/check_hf_export.py /tmp/kd-hf-export "$deps/golden/reference.safetensors"
stage bench bench
[[ -n $compile_pid ]] && wait "$compile_pid"
echo "== summary"
cat "$out/summary.txt"
! grep -qv "rc=0 " "$out/summary.txt"
