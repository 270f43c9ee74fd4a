#!/usr/bin/env bash
# Installs everything kd builds, tests and benchmarks with, from Debian 12's archive. Run as root (or with sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache git make
  libtorch-dev libgloo-dev            # LibTorch 1.13 (CPU) and the c10d Gloo headers it includes
  libopenblas0-pthread                # without it LibTorch falls back to the reference BLAS (~70x slower GEMM)
  libhdf5-dev hdf5-tools              # caches (C API) and h5dump
  libvips-dev                         # image decoding and the fast resize path
  libjpeg62-turbo-dev                 # direct JPEG decoding (the same libjpeg PIL and libvips use)
  libssl-dev zlib1g-dev libcli11-dev libtbb-dev libzstd-dev libutf8proc-dev nlohmann-json3-dev
  libgtest-dev googletest
  python3-h5py python3-numpy          # tests read caches the way users will (h5py through our zstd plugin)
  python3-torch python3-pil python3-torchvision   # the Python references in benchmarks (OpenAI's transform)
  curl ca-certificates unzip          # Makefile.data download targets
)

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
