#!/usr/bin/env bash
# Fills .gpu-deps/ (ignored by git) with what pipelines/gpu-smoke/device-check.sh needs on a GPU machine that has
# PyTorch but none of kd's other dependencies: the headers of those dependencies, copied from this Debian 12
# machine's packages in Debian's layout (for kd_compile_check; nothing is linked against them), and the golden tiny
# CLIP files from $KD_SHARED (default ../shared) for gpu_golden_check. Run from the repo root; about 20 MB.
set -euo pipefail
shared=${KD_SHARED:-../shared}
golden=$shared/golden/tiny-clip
dest=.gpu-deps
[[ -f $golden/reference.safetensors ]] || { echo "pack-device-deps: no golden tiny CLIP under $golden" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest/include/hdf5" "$dest/include/glib-2.0-config" "$dest/golden/hf"
for dir in vips glib-2.0 tbb oneapi CLI nlohmann gtest openssl; do cp -r "/usr/include/$dir" "$dest/include/"; done
cp -r /usr/include/hdf5/serial "$dest/include/hdf5/"
cp /usr/include/x86_64-linux-gnu/openssl/*.h "$dest/include/openssl/"
cp /usr/lib/x86_64-linux-gnu/glib-2.0/include/glibconfig.h "$dest/include/glib-2.0-config/"
cp /usr/include/{zstd.h,zstd_errors.h,utf8proc.h,zlib.h,zconf.h,jpeglib.h,jerror.h,jmorecfg.h} "$dest/include/"
cp /usr/include/x86_64-linux-gnu/jconfig.h "$dest/include/"
cp "$golden/config.json" "$golden/model.safetensors" "$dest/golden/hf/"
cp "$golden/openai-jit.pt" "$golden/reference.safetensors" "$dest/golden/"
du -sh "$dest"
