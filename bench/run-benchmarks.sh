#!/usr/bin/env bash
# Runs kd's benchmarks beside their Python references (Debian's python3-torch, python3-pil) in one go and writes
# docs/benchmarks.md. Never part of the tests. Usage: bash bench/run-benchmarks.sh  (about 15 minutes on 2 busy cores)
# Environment: KD_SHARED (shared fixtures, default ../shared), BUILD (default build), BENCH_TMP (scratch folder,
# default a new one under /tmp, removed at the end unless KEEP_BENCH_TMP=1), REPEATS (process repeats of the
# preprocessing benchmarks, default 5), ITERS (timed iterations/steps inside one process, default 3), REPORT_ONLY=1
# with BENCH_TMP (rewrite the report from that folder's results.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${KD_SHARED:-$ROOT/../shared}
BUILD=${BUILD:-build}
BIN=$ROOT/$BUILD/bin
PY=/usr/bin/python3
REPEATS=${REPEATS:-5}
ITERS=${ITERS:-3}
THREADS=2
WORK=${BENCH_TMP:-$(mktemp -d /tmp/kd-bench.XXXXXX)}
mkdir -p "$WORK"
[[ ${KEEP_BENCH_TMP:-0} == 1 ]] || trap 'rm -rf "$WORK"' EXIT
RESULTS=$WORK/results.jsonl
REPORT_ONLY=${REPORT_ONLY:-0}   # 1: only rewrite docs/benchmarks.md from an earlier $BENCH_TMP/results.jsonl
VAL2017=$SHARED/data/coco-mini/COCO/val2017
IMAGES=$SHARED/data/coco-mini/image
CAPTIONS=$SHARED/data/coco-mini/COCO/annotations/captions_train2017.json
SYNTH=${SYNTH_DIR:-/tmp/kd-bench-synth20k}   # 20k generated 64x48 JPEGs, kept between runs (not in the repo)
T0=$(date +%s)

log() { echo "[bench $(( $(date +%s) - T0 ))s] $*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# record SECTION KEY SIDE JSON: one result line (the 1-minute load average taken before the measurement is passed in).
record() { echo "{\"section\": \"$1\", \"key\": \"$2\", \"side\": \"$3\", \"load\": $4, \"result\": $5}" >> "$RESULTS"; }

# measure SECTION KEY SIDE CMD...: runs a benchmark program that prints one JSON line last, records it.
measure() {
  local section=$1 key=$2 side=$3 load out; shift 3
  load=$(load1)
  log "$section/$key/$side (load $load): $*"
  out=$("$@" | tail -1)
  record "$section" "$key" "$side" "$load" "$out"
}

# timed ITEMS SECTION KEY SIDE CMD...: wall clock and peak RSS of a whole command (/usr/bin/time), items/s.
timed() {
  local items=$1 section=$2 key=$3 side=$4 load; shift 4
  load=$(load1)
  log "$section/$key/$side (load $load): $*"
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > "$WORK/cmd.out" 2> "$WORK/cmd.err" ||
    { cat "$WORK/cmd.err" >&2; exit 1; }
  read -r wall rss < "$WORK/time.txt"
  # kd-extract's summary line ("... N inputs in Ts (R inputs/s)") times its pipeline alone, after the teacher is
  # hashed and loaded: the part comparable with a Python loop that does not time model construction.
  local rate
  rate=$(grep -o '([0-9.]* [a-z]*/s)' "$WORK/cmd.err" | tail -1 | grep -o '^([0-9.]*' | tr -d '(' || true)
  record "$section" "$key" "$side" "$load" \
    "{\"per_second\": $(awk "BEGIN{print $items / $wall}"), \"seconds\": $wall, \"rss_kb\": $rss, \"items\": $items${rate:+, \"pipeline_per_second\": $rate}}"
}

N_IMAGES=$(find "$IMAGES" -maxdepth 1 -type f | wc -l)
N_CAPTIONS=$($PY -c "import json,sys; print(len(json.load(open(sys.argv[1]))['annotations']))" "$CAPTIONS")
PY_CAPTIONS=64

if [[ $REPORT_ONLY != 1 ]]; then
: > "$RESULTS"
# ---- build -------------------------------------------------------------------------------------------------------
log "building"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$BUILD" -j2 --target kd-extract kd-train teacher_forward_bench preprocess_bench \
  make_random_teacher_bench > "$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log" >&2; exit 1; }

# ---- 1. teacher forward (ViT-B/32, random weights), 2 threads, fp32 and bf16 ------------------------------------
# Images at batch 8 (key image-DTYPE) and 32 (key image-DTYPE-b32).
for dtype in fp32 bf16; do
  for batch in 8 32; do
    key="image-$dtype"; [[ $batch == 8 ]] || key="image-$dtype-b$batch"
    measure forward "$key" kd "$BIN/teacher_forward_bench" --tower image --batch $batch --iters "$ITERS" \
      --threads $THREADS --dtype $dtype
    measure forward "$key" py $PY bench/teacher_forward_ref.py --tower image --batch $batch --iters "$ITERS" \
      --threads $THREADS --dtype $dtype
  done
  measure forward "text-$dtype" kd "$BIN/teacher_forward_bench" --tower text --batch 8 --iters "$ITERS" \
    --threads $THREADS --dtype $dtype
  measure forward "text-$dtype" py $PY bench/teacher_forward_ref.py --tower text --batch 8 --iters "$ITERS" \
    --threads $THREADS --dtype $dtype
done

# ---- 2. decode + CLIP preprocessing, ONE thread, 79 COCO val2017 JPEGs repeated to >= 3 s ------------------------
# Python: OpenAI's own transform (PIL + torchvision + torch, key openai) and a numpy variant (key PIL).
for r in $(seq "$REPEATS"); do
  # exact and fast: the renderer on view 0, what kd-eval, kd-extract and kd-train's loader run per image.
  for mode in exact fast decode decode-eighth views4-exact views4-exact-separate; do
    measure preprocess "$mode" kd env OMP_NUM_THREADS=1 "$BIN/preprocess_bench" --images "$VAL2017" \
      --mode $mode --min-seconds 3
  done
  for impl in openai numpy; do
    key=$impl; [[ $impl == openai ]] || key=PIL
    measure preprocess "$key" py env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $PY bench/preprocess_ref.py \
      --images "$VAL2017" --impl $impl --min-seconds 3
  done
done

# ---- 3. end-to-end extraction: random ViT-B/32 teacher, coco-mini ------------------------------------------------
mkdir -p "$WORK/teacher"
"$BIN/make_random_teacher_bench" --out "$WORK/teacher/vit-b-32-random.safetensors" --seed 1
cp "$SHARED/clip/bpe_simple_vocab_16e6.txt.gz" "$WORK/teacher/"
TEACHER=$WORK/teacher/vit-b-32-random.safetensors
for precision in fp32 bf16; do
  timed "$N_IMAGES" extract "image-$precision" kd "$BIN/kd-extract" image --teacher "$TEACHER" --images "$IMAGES" \
    --out "$WORK/data-$precision/cache/image" --threads $THREADS --precision $precision
  measure extract "image-$precision" py $PY bench/extract_ref.py --tower image --images "$IMAGES" --batch 64 \
    --threads $THREADS --dtype $precision
  timed "$N_CAPTIONS" extract "text-$precision" kd "$BIN/kd-extract" text --teacher "$TEACHER" \
    --captions "$CAPTIONS" --out "$WORK/data-$precision/cache/text" --threads $THREADS --precision $precision
  measure extract "text-$precision" py $PY bench/extract_ref.py --tower text --captions $PY_CAPTIONS --batch 64 \
    --threads $THREADS --dtype $precision
done

# 20k synthetic images (64x48 JPEGs, generated once into $SYNTH) through the tiny golden teacher: peak RSS.
if [[ $(find "$SYNTH" -maxdepth 1 -name '*.jpg' 2>/dev/null | wc -l) -ne 20000 ]]; then
  log "generating 20000 64x48 JPEGs in $SYNTH"
  rm -rf "$SYNTH" && mkdir -p "$SYNTH"
  $PY - "$SYNTH" <<'EOF'
import sys, numpy as np
from PIL import Image
rng = np.random.default_rng(0)
base = np.linspace(0, 255, 64 * 48 * 3).reshape(48, 64, 3)
for i in range(20000):
    a = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(a).save("%s/%05d.jpg" % (sys.argv[1], i), quality=90)
EOF
fi
timed 20000 extract "synthetic-20k-tiny" kd "$BIN/kd-extract" image --teacher "$SHARED/golden/tiny-clip" \
  --images "$SYNTH" --out "$WORK/synth-cache" --threads $THREADS

# ---- 4. training throughput: seed image student (width 576, 6 layers), batch 32 ---------------------------------
measure train online py $PY bench/train_ref.py --mode online --images "$IMAGES" --batch 32 --steps 2 \
  --threads $THREADS
measure train cached py $PY bench/train_ref.py --mode cached --batch 32 --steps "$ITERS" --threads $THREADS
for precision in 32 bf16; do
  load=$(load1)
  log "train/kd-$precision (load $load)"
  if ! "$BIN/kd-train" --data_dir "$WORK/data-fp32" --dataset image_dataset --batch_size 32 \
      --max_steps $((ITERS + 1)) --threads $THREADS --precision $precision --save_dir "$WORK/runs" \
      --model_name "p$precision" --quiet > "$WORK/train.out" 2>&1; then
    # A failure is a result too: its first line goes into the report and the run goes on.
    cat "$WORK/train.out" >&2
    record train "kd-$precision" kd "$load" "$($PY -c 'import json,sys; print(json.dumps({"error": sys.argv[1]}))' \
      "$(grep -m1 kd-train "$WORK/train.out" || head -1 "$WORK/train.out")")"
    continue
  fi
  # samples_per_s per step from metrics.jsonl; step 1 is warm-up.
  record train "kd-$precision" kd "$load" "$($PY - "$WORK/runs/p$precision/metrics.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if "samples_per_s" in l]
sps = [r["samples_per_s"] for r in rows if r["step"] > 1]
print(json.dumps({"per_second": max(sps), "per_second_mean": len(sps) / sum(1 / s for s in sps), "steps": len(sps)}))
EOF
)"
done

fi

# ---- report ---------------------------------------------------------------------------------------------------------
log "writing docs/benchmarks.md"
CPU_MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
CPU_FLAGS=$(grep -o -w -E 'amx_bf16|avx512_bf16|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ')
NCPU=$(nproc)
LIBTORCH=$(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null || echo unknown)
PYTORCH=$(dpkg-query -W -f='${Version}' python3-torch 2>/dev/null || echo unknown)
PIL_V=$(dpkg-query -W -f='${Version}' python3-pil 2>/dev/null || echo unknown)
TORCHVISION_V=$(dpkg-query -W -f='${Version}' python3-torchvision 2>/dev/null || echo unknown)
VIPS_V=$(vips --version 2>/dev/null || echo unknown)
COMMIT=$(git rev-parse --short HEAD)
ELAPSED=$(( $(date +%s) - T0 ))
$PY - "$RESULTS" docs/benchmarks.md.tmp <<EOF
import json, sys
from collections import defaultdict
rows = [json.loads(l) for l in open(sys.argv[1])]
by = defaultdict(list)
for r in rows:
    by[(r["section"], r["key"], r["side"])].append(r)

def best(section, key, side):
    rs = by.get((section, key, side), [])
    errors = [r for r in rs if "error" in r["result"]]
    rs = [r for r in rs if "per_second" in r["result"]]
    if not rs:
        return ({"error": errors[0]["result"]["error"]} if errors else None), ", ".join("%.2f" % x["load"] for x in errors)
    r = max(rs, key=lambda r: r["result"]["per_second"])
    return r["result"], ", ".join("%.2f" % x["load"] for x in rs)

def f(v):
    return "—" if v is None else ("%.1f" % v if v >= 10 else "%.2f" % v)

out = []
w = out.append
w("# kd benchmarks")
w("")
w("Written by \`bench/run-benchmarks.sh\` (do not edit by hand); kd and the Python reference measured in the same run.")
w("")
w("- Machine: $CPU_MODEL, $NCPU cores ($CPU_FLAGS), shared with other processes: the load column is the")
w("  1-minute load average (\`/proc/loadavg\`, as \`uptime\` prints it) read just before each measurement. A load")
w("  above $NCPU means the benchmark got only part of the cores, so absolute numbers are low; the ratios are the point.")
w("- Date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT, whole run ${ELAPSED} s.")
w("- kd: LibTorch $LIBTORCH (Debian libtorch-dev), libvips $VIPS_V. Python: /usr/bin/python3, torch $PYTORCH")
w("  (python3-torch), Pillow $PIL_V (python3-pil), torchvision $TORCHVISION_V (python3-torchvision), numpy.")
w("- Threads: set explicitly to $THREADS on both sides (at::set_num_threads / torch.set_num_threads; Python's")
w("  torch.get_num_threads() reports 1 here by default) except for preprocessing, which is one thread on both sides.")
w("- Repeats: each number is the best of 3 (best timed iteration of ${ITERS} after a warm-up inside one process for")
w("  forward passes and training steps; best of ${REPEATS} processes for preprocessing); where a whole command is timed")
w("  (kd-extract) it ran once, see the notes. Random weights everywhere: speed does not depend on them.")
w("- GPU (H200, LibTorch 2.11) numbers are in [gpu-check.md](gpu-check.md): no GPU here.")
w("- kd-train memory against cache size (2 M rows, 1 and 2 processes): [benchmarks-scale.md](benchmarks-scale.md), written by bench/scale_bench.sh.")
w("")

def table(title, note, items):
    failures = []
    w("## " + title)
    w("")
    if note:
        w(note)
        w("")
    w("| what | kd | Python | kd / Python | goal | load |")
    w("|---|---:|---:|---:|---|---|")
    for what, kd, py, goal in items:
        k, kl = kd
        p, pl = py
        kv = None if k is None else k.get("per_second")
        pv = None if p is None else p.get("per_second")
        if k is not None and "error" in k:
            failures.append("%s: kd failed: \`%s\`" % (what, k["error"]))
        ratio = "—" if kv is None or pv is None else "%.2f×" % (kv / pv)
        g = "—"
        if goal and kv is not None and pv is not None:
            g = "≥ %g×: %s" % (goal, "met" if kv / pv >= goal else "**missed**")
        kd_cell = "failed" if k is not None and "error" in k else f(kv)
        w("| %s | %s | %s | %s | %s | kd %s; py %s |" % (what, kd_cell, f(pv), ratio, g, kl or "—", pl or "—"))
    w("")
    for line in failures:
        w("- " + line)
    if failures:
        w("")

table("Teacher forward (ViT-B/32, random weights), items/s",
      "Batch 8 unless the row says otherwise, $THREADS threads. kd: bench/teacher_forward_bench.cpp (text tower stops after the last EOT token). "
      "Python: bench/teacher_forward_ref.py, OpenAI's structure (nn.MultiheadAttention, all 77 text positions); "
      "bf16 = model.to(torch.bfloat16) on both sides. Captions: SOT + 14 tokens + EOT.",
      [("image fp32", best("forward", "image-fp32", "kd"), best("forward", "image-fp32", "py"), 2),
       ("image fp32, batch 32", best("forward", "image-fp32-b32", "kd"), best("forward", "image-fp32-b32", "py"), 2),
       ("image bf16", best("forward", "image-bf16", "kd"), best("forward", "image-bf16", "py"), None),
       ("image bf16, batch 32", best("forward", "image-bf16-b32", "kd"), best("forward", "image-bf16-b32", "py"),
        None),
       ("text fp32", best("forward", "text-fp32", "kd"), best("forward", "text-fp32", "py"), None),
       ("text bf16", best("forward", "text-bf16", "kd"), best("forward", "text-bf16", "py"), None)])

openai = best("preprocess", "openai", "py")
pil = best("preprocess", "PIL", "py")
table("Decode + CLIP preprocessing, one thread, images/s",
      "79 COCO val2017 JPEGs (coco-mini) repeated to ≥ 3 s. kd: bench/preprocess_bench.cpp, libvips concurrency 1, "
      "operation cache off. JPEGs are decoded directly with libjpeg (common/image/detail/jpeg_decode.h). "
      "exact and fast = the renderer (common/image/renderer.h) on view 0 (the centre crop) in that mode, what kd-eval, "
      "kd-extract and kd-train's loader run per image: exact is PIL-identical and decodes only the "
      "pixels the centre crop reads; fast decodes those at libjpeg's DCT scale M/8 + PIL bicubic. "
      "4 views = render_views of views 0-3 of each image (kd-extract --views 4: one decode of what the views read), "
      "images/s; 4 views, 4 decodes = the same as four render calls (what decoding once saves). "
      "decode = the full-size decode alone (no resize: the bound on exact); 1/8-scale decode = "
      "libjpeg with DCT scaling 1/8, almost only Huffman decoding, which any decoder of these files must do in full "
      "(none has restart markers): the bound on fast. "
      "Python, bench/preprocess_ref.py: OpenAI = OpenAI's own transform as clip.load returns it (PIL open, "
      "torchvision Resize BICUBIC + CenterCrop + convert RGB + ToTensor + Normalize; Debian python3-torchvision); "
      "PIL + numpy = the same pixels, numpy for /255 and the normalisation. The goals are stated against "
      "OpenAI's transform (the issue's PIL + torch reference); the PIL + numpy rows show the same ratios against "
      "the other one.",
      [("exact", best("preprocess", "exact", "kd"), openai, 2),
       ("fast", best("preprocess", "fast", "kd"), openai, 5),
       ("decode alone (bound on exact)", best("preprocess", "decode", "kd"), openai, None),
       ("4 views, decoded once", best("preprocess", "views4-exact", "kd"), openai, None),
       ("4 views, 4 decodes", best("preprocess", "views4-exact-separate", "kd"), openai, None),
       ("1/8-scale decode (Huffman alone: bound on fast)", best("preprocess", "decode-eighth", "kd"), openai, None),
       ("exact vs PIL + numpy", best("preprocess", "exact", "kd"), pil, None),
       ("fast vs PIL + numpy", best("preprocess", "fast", "kd"), pil, None)])

def extract_row(what, key, field):
    k, kl = best("extract", key, "kd")
    if k is not None and field in k:
        k = dict(k, per_second=k[field])
    elif k is not None and "error" not in k:
        k = None  # no such number in this run
    return (what, (k, kl), best("extract", key, "py"), None)

table("End-to-end extraction (random ViT-B/32 teacher), items/s",
      "kd: \`kd-extract image|text --threads $THREADS --precision P\` on coco-mini (80 images in image/, "
      "$N_CAPTIONS captions of captions_train2017.json), once. pipeline = kd-extract's own summary (decode or "
      "tokenise → teacher → HDF5 write, timed from the first input to the last row written): the part comparable "
      "with the Python loop. whole command = wall time of the whole process, which adds start-up, hashing the "
      "teacher file (its sha256 is the cache's teacher_id) and loading it; with 80 images that fixed cost is a large "
      "part of the total. Python: bench/extract_ref.py, batch 64, model construction not timed, nothing written; "
      "images: PIL decode + OpenAI's transform + vision tower; captions: NO tokeniser, $PY_CAPTIONS pre-tokenised "
      "random captions of COCO length (16 tokens) through the full 77-position text tower.",
      [extract_row("images fp32, pipeline", "image-fp32", "pipeline_per_second"),
       extract_row("images bf16, pipeline", "image-bf16", "pipeline_per_second"),
       extract_row("captions fp32, pipeline", "text-fp32", "pipeline_per_second"),
       extract_row("captions bf16, pipeline", "text-bf16", "pipeline_per_second"),
       extract_row("images fp32, whole command", "image-fp32", "per_second"),
       extract_row("images bf16, whole command", "image-bf16", "per_second"),
       extract_row("captions fp32, whole command", "text-fp32", "per_second"),
       extract_row("captions bf16, whole command", "text-bf16", "per_second")])

w("### Peak RSS of kd-extract (\`/usr/bin/time\`, maximum resident set size)")
w("")
w("| run | images or captions | wall s | items/s | peak RSS MiB | load |")
w("|---|---:|---:|---:|---:|---|")
for key, what in [("image-fp32", "coco-mini images, ViT-B/32 fp32"), ("image-bf16", "coco-mini images, ViT-B/32 bf16"),
                  ("text-fp32", "coco-mini captions, ViT-B/32 fp32"), ("text-bf16", "coco-mini captions, ViT-B/32 bf16"),
                  ("synthetic-20k-tiny", "20,000 synthetic 64x48 JPEGs, tiny golden teacher (shared/golden/tiny-clip)")]:
    r, l = best("extract", key, "kd")
    if r:
        w("| %s | %d | %.1f | %s | %.0f | %s |" % (what, r["items"], r["seconds"], f(r["per_second"]),
                                                  r["rss_kb"] / 1024.0, l))
w("")

online = best("train", "online", "py")
cached = best("train", "cached", "py")
table("Training throughput: seed image student (ViT width 576, 6 layers, 24 heads, patch 32, 224 px), samples/s",
      "Batch 32, $THREADS threads, AdamW, seed loss (kl 0.6 + l1 0.35 + ce 0.05, T 4). kd: \`kd-train --dataset "
      "image_dataset --batch_size 32 --max_steps $((ITERS + 1)) --threads $THREADS --precision 32|bf16\` on caches "
      "kd-extract made from the random ViT-B/32 teacher (coco-mini, 80 images: 2 steps per epoch, the first step of an "
      "epoch waits for its decode); samples_per_s from RUN/metrics.jsonl, step 1 skipped as warm-up, best step (mean "
      "in the note below). Each kd step decodes + renders its images (the renderer: libjpeg for "
      "JPEGs, in the cache's resize mode), then forward + backward + AdamW. "
      "Python: bench/train_ref.py; online = PIL decode + preprocess + ViT-B/32 teacher under no_grad every step (the "
      "seed without a cache), fp32, best of 2 timed steps; cached = random inputs and targets (no decode, no teacher).",
      [("kd fp32 vs Python online", best("train", "kd-32", "kd"), online, 2.5),
       ("kd bf16 vs Python online", best("train", "kd-bf16", "kd"), online, 2.5),
       ("kd fp32 vs Python cached (no decode)", best("train", "kd-32", "kd"), cached, None),
       ("kd bf16 vs Python cached (no decode)", best("train", "kd-bf16", "kd"), cached, None)])
means = []
for key in ["kd-32", "kd-bf16"]:
    r, _ = best("train", key, "kd")
    if r and "per_second_mean" in r:
        means.append("kd %s %s samples/s over %d steps" % (key[3:], f(r["per_second_mean"]), r["steps"]))
for r, name in [(online, "Python online"), (cached, "Python cached")]:
    if r[0]:
        means.append("%s %s" % (name, f(r[0]["per_second_mean"])))
w("Means over the timed steps: " + "; ".join(means) + ".")
w("")
# Measurements behind the renderer's design (common/image/renderer.h), taken by hand, not by this script.
w(open("bench/rendering-notes.md").read().rstrip())
w("")
w("## Raw results")
w("")
w("Every measurement of this run, one JSON object per line (load = 1-minute load average before it):")
w("")
w("\`\`\`")
for r in rows:
    w(json.dumps(r))
w("\`\`\`")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
EOF
mv docs/benchmarks.md.tmp docs/benchmarks.md
log "done: docs/benchmarks.md"
