#!/usr/bin/env bash
# Scale benchmark (not a test): kd-train's memory must not grow with the cache. Builds synthetic text caches of
# SMALL_ROWS and LARGE_ROWS rows and an image cache of IMAGE_ROWS rows (bench/synthetic_cache_bench.cpp), trains a
# fixed number of steps on each with 1 and 2 Gloo processes, and prints peak RSS (VmHWM), peak anonymous RSS
# (RssAnon, sampled every 0.2 s) per training process and samples/s as a Markdown table for docs/benchmarks.md.
#
#   bench/scale_bench.sh [BUILD_DIR]     env: OUT (work folder, default /tmp/kd-scale), SMALL_ROWS (20000),
#                                             LARGE_ROWS (2000000), IMAGE_ROWS (200000), TEXT_STEPS (60),
#                                             IMAGE_STEPS (12), THREADS (1), DIM (512: embedding width),
#                                             KEEP (1: reuse caches already built)
# Disk: about 1.35 KB per text row (D = 512, float16) and 2.1 KB per image row (V = 2), ~3.2 GB at the defaults;
# a table row reads "cache, processes, steps, per process VmHWM / max RssAnon (MB), samples/s, data wait, wall".
set -euo pipefail
BUILD=${1:-build}
OUT=${OUT:-/tmp/kd-scale}
SMALL_ROWS=${SMALL_ROWS:-20000}
LARGE_ROWS=${LARGE_ROWS:-2000000}
IMAGE_ROWS=${IMAGE_ROWS:-200000}
TEXT_STEPS=${TEXT_STEPS:-60}
IMAGE_STEPS=${IMAGE_STEPS:-12}
THREADS=${THREADS:-1}
DIM=${DIM:-512}
KEEP=${KEEP:-1}
JPEGS=${JPEGS:-${KD_SHARED:-../shared}/data/coco-mini/image}
GEN="$BUILD/bin/synthetic_cache_bench"
TRAIN="$BUILD/bin/kd-train"
[ -x "$GEN" ] || GEN="$BUILD/synthetic_cache_bench"
for f in "$GEN" "$TRAIN"; do [ -x "$f" ] || { echo "scale_bench: build $f first" >&2; exit 2; }; done
mkdir -p "$OUT"

make_cache() {  # NAME KIND ROWS
  local dir="$OUT/$1"
  if [ "$KEEP" = 1 ] && [ -f "$dir/index.json" ]; then return; fi
  rm -rf "$dir"
  local t0=$SECONDS
  "$GEN" --kind "$2" --rows "$3" --dim "$DIM" --out "$dir" --jpegs "$JPEGS" >&2
  echo "scale_bench: $1 ($3 rows) built in $((SECONDS - t0)) s, $(du -sh "$dir" | cut -f1)" >&2
}

# Samples VmHWM and RssAnon of PID and its descendants until PID exits; prints "pid hwm_kb rssanon_max_kb" lines.
sample_tree() {
  local root=$1
  declare -A hwm anon
  while kill -0 "$root" 2>/dev/null; do
    local pids="$root" frontier="$root"
    while [ -n "$frontier" ]; do
      local next=""
      for p in $frontier; do next+=" $(pgrep -P "$p" | tr '\n' ' ')"; done
      frontier=$(echo $next)
      pids+=" $frontier"
    done
    for p in $pids; do
      local s
      s=$(awk '/^VmHWM:/{h=$2} /^RssAnon:/{a=$2} END{print h+0, a+0}' "/proc/$p/status" 2>/dev/null) || continue
      local h=${s% *} a=${s#* }
      [ "${h:-0}" -gt "${hwm[$p]:-0}" ] && hwm[$p]=$h
      [ "${a:-0}" -gt "${anon[$p]:-0}" ] && anon[$p]=$a
    done
    sleep 0.2
  done
  for p in "${!hwm[@]}"; do echo "$p ${hwm[$p]} ${anon[$p]:-0}"; done
}

# NAME CACHE KIND STEPS PROCS -> one table row
train() {
  local name=$1 cache=$2 kind=$3 steps=$4 procs=$5 run="$1-$5p"
  rm -rf "$OUT/runs/$run"
  local args=(--quiet --cache "$OUT/$cache" --save_dir "$OUT/runs" --model_name "$run" --max_steps "$steps"
              --max_epochs 1000 --threads "$THREADS" --output_dim "$DIM")
  if [ "$kind" = text ]; then
    args+=(--dataset text_dataset --transformer_width 64 --transformer_layers 2 --transformer_heads 2 --batch_size 256)
  else
    args+=(--dataset image_dataset --width 64 --layers 2 --heads 2 --batch_size 32)
  fi
  [ "$procs" -gt 1 ] && args+=(--gpus 0,1 --strategy ddp)
  local t0=$SECONDS
  "$TRAIN" "${args[@]}" &
  local pid=$!
  local samples
  samples=$(sample_tree "$pid")
  wait "$pid" || { echo "scale_bench: kd-train failed on $cache ($procs processes)" >&2; exit 1; }
  # Training processes: the workers (the launcher of 2 processes only waits); per process "HWM/RssAnon" in MB.
  local per
  per=$(echo "$samples" | sort -n | awk -v procs="$procs" '
    { n++; h[n]=$2; a[n]=$3 } END { first = (procs > 1 && n > procs) ? 2 : 1;
      for (i = first; i <= n; i++) printf "%s%.0f / %.0f", (i > first ? ", " : ""), h[i] / 1024, a[i] / 1024 }')
  local rate wait
  rate=$(awk -F'"samples_per_s":' 'NF > 1 { split($2, x, /[,}]/); v[++n] = x[1] } END {
           m = 0; c = 0; for (i = 4; i <= n; i++) { m += v[i]; c++ } if (c == 0) { for (i = 1; i <= n; i++) { m += v[i]; c++ } }
           printf "%.0f", c ? m / c : 0 }' "$OUT/runs/$run/metrics.jsonl")
  wait=$(awk -F'"data_wait_s":' 'NF > 1 { split($2, x, /[,}]/); s += x[1]; n++ } END { printf "%.1f", n ? 1000 * s / n : 0 }' \
           "$OUT/runs/$run/metrics.jsonl")
  echo "| $name | $procs | $steps | $per | $rate | $wait | $((SECONDS - t0)) |"
}

make_cache text-small text "$SMALL_ROWS"
make_cache text-large text "$LARGE_ROWS"
make_cache image-large image "$IMAGE_ROWS"
echo "| cache | processes | steps | peak RSS / peak RssAnon per process (MB) | samples/s | data wait (ms/step) | wall (s) |"
echo "|---|---:|---:|---|---:|---:|---:|"
for procs in 1 2; do
  train "text, $SMALL_ROWS rows" text-small text "$TEXT_STEPS" "$procs"
  train "text, $LARGE_ROWS rows" text-large text "$TEXT_STEPS" "$procs"
  train "image, $IMAGE_ROWS rows" image-large image "$IMAGE_STEPS" "$procs"
done
