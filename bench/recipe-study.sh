#!/usr/bin/env bash
# The recipe study (issue 17): which distillation loss a user should pick, measured on the offline demo's teacher at
# fixed compute. Not a test. Usage: bash bench/recipe-study.sh   (the full grid takes hours on 2 cores; see below)
#
# What it does, in order (every step is skipped when its output already exists, so a killed study resumes):
#   1. demo data (STUDY_TRAIN training images, STUDY_VAL val images) and the demo teacher, through Makefile.data;
#   2. the teacher caches: val, text, image with VIEWS=1 and VIEWS=STUDY_VIEWS, each training cache with the other
#      modality's cache as its --bank (affinity, affinity_topk and icl need the teacher's top-K logits);
#   3. for every recipe in RECIPES, tower in image/text, seed in SEEDS (and views in VIEW_SETS for the image tower):
#      one kd-train run of exactly IMAGE_STEPS / TEXT_STEPS steps at batch BATCH, cosine schedule, the same for
#      every recipe; and the baseline without a teacher (both student shapes as one CLIP, trained contrastively);
#      then, for SIZE_RECIPE, image students of the shapes in SIZES (WIDTHxLAYERSxHEADS, or WIDTHxLAYERSxHEADS-STEPS
#      for another step budget), to show what a larger or longer-trained student keeps;
#   4. one kd-eval per (recipe, seed, views): image and text students of that recipe together, so the report holds
#      student x teacher, teacher x student and student x student;
#   5. bench/recipe_table.py: mean +- sd over seeds of R@1/R@5 retention and mean cosine -> OUT.
# JOBS (recipe, seed) units run at once, each with THREADS threads.
#
# Environment (defaults in brackets): STUDY [study-out], BUILD [build], THREADS [2], JOBS [1], STUDY_TRAIN [2000],
# STUDY_PRETRAIN [8000: the teacher's own images, DEMO_PRETRAIN], STUDY_VAL [1000], STUDY_DEMO [unset: make a demo
# under STUDY], IMAGE_STEPS [250], TEXT_STEPS [1250], BATCH [64], LR [1e-3], SEEDS ["0 1 2"], STUDY_VIEWS [4],
# VIEW_SETS ["1 4"], RECIPES [all of recipe_flags below], NO_TEACHER [1: also the no-teacher baseline],
# SIZES ["128x2x4 128x4x4 64x2x2-1000 128x4x4-1000"; "" for none], SIZE_RECIPE [fd], OUT [docs/recipes-results.md].
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
BIN=$ROOT/$BUILD/bin
STUDY=${STUDY:-study-out}
THREADS=${THREADS:-2}
JOBS=${JOBS:-1}
STUDY_TRAIN=${STUDY_TRAIN:-2000}
STUDY_PRETRAIN=${STUDY_PRETRAIN:-8000}
STUDY_VAL=${STUDY_VAL:-1000}
IMAGE_STEPS=${IMAGE_STEPS:-250}   # the demo image student: 8 epochs of 2000 images at batch 64
TEXT_STEPS=${TEXT_STEPS:-1250}    # the demo text student: 8 epochs of ~10 000 captions
BATCH=${BATCH:-64}
LR=${LR:-1e-3}
SEEDS=${SEEDS:-0 1 2}
STUDY_VIEWS=${STUDY_VIEWS:-4}
VIEW_SETS=${VIEW_SETS:-1 $STUDY_VIEWS}
OUT=${OUT:-docs/recipes-results.md}
ALL_RECIPES="seed cos fd fd+icl affinity affinity_topk fd+affinity fd+icl+affinity"
RECIPES=${RECIPES:-$ALL_RECIPES}
SIZES=${SIZES-128x2x4 128x4x4 64x2x2-1000 128x4x4-1000}
SIZE_RECIPE=${SIZE_RECIPE:-fd}
T0=$(date +%s)
log() { echo "[recipe-study $(($(date +%s) - T0))s] $*" >&2; }

# The demo teacher's embedding width: fd = 2·cos/D (distill_loss.h), so fd is scaled by D to weigh like cos in mixes.
EMBED_DIM=128

# recipe_flags NAME: the kd-train loss flags of one recipe.
recipe_flags() {
  case $1 in
    seed) echo "--loss kl l1 ce --weight 0.6 0.35 0.05 --t 4" ;;
    cos) echo "--loss cos --weight 1" ;;
    fd) echo "--loss fd --weight 1 --loss_scale $EMBED_DIM" ;;
    fd+icl) echo "--loss fd icl --weight 1 1 --loss_scale $EMBED_DIM 1" ;;
    affinity) echo "--loss affinity --weight 1" ;;
    affinity_topk) echo "--loss affinity_topk --weight 1" ;;
    fd+affinity) echo "--loss fd affinity --weight 1 1 --loss_scale $EMBED_DIM 1" ;;
    fd+icl+affinity) echo "--loss fd icl affinity --weight 1 1 1 --loss_scale $EMBED_DIM 1 1" ;;
    *) echo "recipe-study: unknown recipe '$1' (known: $ALL_RECIPES)" >&2; exit 2 ;;
  esac
}
for r in $RECIPES; do recipe_flags "$r" >/dev/null; done

for tool in kd-extract kd-train kd-eval kd-demo-data kd-demo-teacher; do
  [[ -x $BIN/$tool ]] || { echo "recipe-study: $BIN/$tool is missing: make -f Makefile.data build" >&2; exit 1; }
done
mkdir -p "$STUDY"

# 1. data and teacher (Makefile.data's own demo rules, so the study's teacher is the demo's).
# STUDY_DEMO=DIR reuses the data and teacher of an earlier `make -f Makefile.data demo DEMO=DIR` instead.
DEMO=${STUDY_DEMO:-$STUDY/demo}
DATA=$DEMO/data
TEACHER=$DEMO/teacher
if [[ -n ${STUDY_DEMO:-} ]]; then
  [[ -f $TEACHER/model.safetensors ]] || { echo "recipe-study: STUDY_DEMO=$DEMO holds no teacher/model.safetensors" >&2; exit 1; }
  STUDY_VAL=$(find "$DATA/COCO/val2017" -maxdepth 1 -type f | wc -l)
  STUDY_TRAIN=$(find "$DATA/image" -maxdepth 1 -type f | wc -l)
  STUDY_PRETRAIN=$(find "$DATA/pretrain" -maxdepth 1 -name '*.png' 2>/dev/null | wc -l)
  log "reusing $DEMO ($STUDY_TRAIN train, $STUDY_VAL val images)"
else
  log "demo data ($STUDY_TRAIN train, $STUDY_VAL val) and teacher"
  make -f Makefile.data --no-print-directory DEMO="$DEMO" DEMO_TRAIN="$STUDY_TRAIN" DEMO_PRETRAIN="$STUDY_PRETRAIN" \
    DEMO_VAL="$STUDY_VAL" \
    THREADS="$THREADS" QUIET=1 "$TEACHER/model.safetensors" >&2
fi

# 2. caches. extract CACHE ARGS...: kd-extract into CACHE unless its index.json exists.
CACHE=$STUDY/cache
CAPTIONS=$DATA/COCO/annotations/captions_train2017.json
extract() {
  local out=$1; shift
  [[ -f $out/index.json ]] && return 0
  log "kd-extract $1 -> $out"
  "$BIN/kd-extract" "$@" --teacher "$TEACHER" --threads "$THREADS" --out "$out" --quiet
}
extract "$CACHE/val" val --data-dir "$DATA"
extract "$CACHE/text-nobank" text --captions "$CAPTIONS"
for v in $VIEW_SETS; do
  extract "$CACHE/image-v$v" image --images "$DATA/image" --views "$v" --bank "$CACHE/text-nobank"
done
first_views=${VIEW_SETS%% *}
extract "$CACHE/text" text --captions "$CAPTIONS" --bank "$CACHE/image-v$first_views"

# 3. runs. train TOWER RECIPE SEED VIEWS: one student, IMAGE_STEPS or TEXT_STEPS steps, the same schedule for
# every recipe.
RUNS=$STUDY/runs
train() {
  local tower=$1 recipe=$2 seed=$3 views=$4 shape=${5:-} run cache bank preset steps name
  name=$tower-$recipe${shape:+@$shape}-s$seed-v$views
  run=$RUNS/$name
  [[ -f $run/student.safetensors ]] && return 0
  if [[ $tower == image ]]; then
    cache=$CACHE/image-v$views bank=$CACHE/text-nobank preset=pipelines/presets/demo-image.args steps=$IMAGE_STEPS
  else
    cache=$CACHE/text bank=$CACHE/image-v$first_views preset=pipelines/presets/demo-text.args steps=$TEXT_STEPS
  fi
  if [[ -n $shape ]]; then
    preset=$(shaped_preset_path "${shape%%-*}")
    [[ $shape == *-* ]] && steps=${shape##*-}
  fi
  log "train $tower $recipe${shape:+ $shape} seed $seed views $views"
  rm -rf "$run"
  # shellcheck disable=SC2046  # the preset and the recipe are word lists
  "$BIN/kd-train" $(bash pipelines/preset-args.sh "$preset") $(recipe_flags "$recipe") \
    --cache "$cache" --bank "$bank" --save_dir "$RUNS" --model_name "$name" \
    --seed "$seed" --batch_size "$BATCH" --lr "$LR" --lr_scheduler cosine --warmup-steps 20 \
    --max_epochs 1000000 --max-steps "$steps" --precision 32 --threads "$THREADS" --quiet >&2
}

# shaped_preset_path WxLxH: where shaped_preset writes that shape's preset.
shaped_preset_path() { echo "$STUDY/presets/demo-image-$1.args"; }
# shaped_preset WxLxH: writes the demo image preset with width W, L layers and H heads, once, before any unit runs
# (units only read it: a unit rewriting it could truncate it under another's kd-train).
shaped_preset() {
  local w l h out
  IFS=x read -r w l h <<< "$1"
  [[ $w =~ ^[0-9]+$ && $l =~ ^[0-9]+$ && $h =~ ^[0-9]+$ ]] ||
    { echo "recipe-study: SIZES entry '$1': expected WIDTHxLAYERSxHEADS[-STEPS], e.g. 128x4x4 or 128x4x4-1000" >&2; exit 2; }
  out=$(shaped_preset_path "$1")
  mkdir -p "$STUDY/presets"
  sed -e "s/--width [0-9]*/--width $w/" -e "s/--layers [0-9]*/--layers $l/" -e "s/--heads [0-9]*/--heads $h/" \
    pipelines/presets/demo-image.args > "$out"
}

# 4. eval EVAL_DIR IMAGE_RUN TEXT_RUN
evaluate() {
  local out=$1 image_run=$2 text_run=$3
  [[ -f $out/report.json ]] && return 0
  mkdir -p "$out"
  "$BIN/kd-eval" --val-cache "$CACHE/val" --image-student "$image_run" --text-student "$text_run" \
    --teacher "$TEACHER" --out "$out/report.json" --threads "$THREADS" --teacher-rows 64 --quiet > "$out/table.txt"
}

# The baseline: the same student shapes trained WITHOUT a teacher (symmetric InfoNCE on the same images and
# captions, kd-demo-teacher --config), for the image tower's step budget; both towers come from this one CLIP.
baseline() {
  local seed=$1 run=$RUNS/no-teacher-s$seed epochs
  [[ -f $run/model.safetensors ]] && return 0
  mkdir -p "$RUNS"
  python3 - "$TEACHER/config.json" pipelines/presets/demo-image.args pipelines/presets/demo-text.args \
    > "$RUNS/no-teacher-config.json" <<'PY'
import json, sys
teacher = json.load(open(sys.argv[1]))
def flags(path):
    words = " ".join(l.split("#")[0] for l in open(path)).split()
    return {words[i].lstrip("-"): words[i + 1] for i in range(len(words) - 1) if words[i].startswith("--")}
img, txt = flags(sys.argv[2]), flags(sys.argv[3])
v, t = teacher["vision_config"], teacher["text_config"]
v.update(hidden_size=int(img["width"]), num_hidden_layers=int(img["layers"]), num_attention_heads=int(img["heads"]),
         intermediate_size=4 * int(img["width"]), patch_size=int(img["patch_size"]),
         image_size=int(img["input_resolution"]))
t.update(hidden_size=int(txt["transformer_width"]), num_hidden_layers=int(txt["transformer_layers"]),
         num_attention_heads=int(txt["transformer_heads"]), intermediate_size=4 * int(txt["transformer_width"]))
teacher["projection_dim"] = int(img["output_dim"])
print(json.dumps(teacher, indent=1))
PY
  epochs=$(( (IMAGE_STEPS * BATCH + STUDY_TRAIN - 1) / STUDY_TRAIN ))
  log "no-teacher baseline seed $seed ($epochs epochs)"
  "$BIN/kd-demo-teacher" --data-dir "$DATA" --out "$run" --config "$RUNS/no-teacher-config.json" --epochs "$epochs" \
    --batch-size "$BATCH" --lr "$LR" --seed "$seed" --threads "$THREADS" --precision fp32 --skip-pretrain --quiet >&2
}
if [[ ${NO_TEACHER:-1} == 1 ]]; then
  for seed in $SEEDS; do
    baseline "$seed"
    evaluate "$STUDY/eval/no-teacher-s$seed-v1" "$RUNS/no-teacher-s$seed" "$RUNS/no-teacher-s$seed"
  done
fi

# unit RECIPE SEED: the text student, the image students (every views set) and their evaluations.
unit() {
  local recipe=$1 seed=$2 v
  train text "$recipe" "$seed" "$first_views"
  for v in $VIEW_SETS; do
    train image "$recipe" "$seed" "$v"
    evaluate "$STUDY/eval/$recipe-s$seed-v$v" "$RUNS/image-$recipe-s$seed-v$v" "$RUNS/text-$recipe-s$seed-v$first_views"
  done
}
# size_unit SEED: SIZE_RECIPE image students of every shape in SIZES, each scored with SIZE_RECIPE's text student.
size_unit() {
  local seed=$1 shape
  train text "$SIZE_RECIPE" "$seed" "$first_views"
  for shape in $SIZES; do
    train image "$SIZE_RECIPE" "$seed" "$first_views" "$shape"
    evaluate "$STUDY/eval/$SIZE_RECIPE@$shape-s$seed-v$first_views" \
      "$RUNS/image-$SIZE_RECIPE@$shape-s$seed-v$first_views" "$RUNS/text-$SIZE_RECIPE-s$seed-v$first_views"
  done
}
# Runs its arguments as a background unit, at most JOBS at once; a failed unit fails the study.
running=0
spawn() {
  if (( running >= JOBS )); then wait -n; running=$((running - 1)); fi
  "$@" &
  running=$((running + 1))
}
# Waits for every spawned unit; a failed unit fails the study.
wait_all() { while (( running > 0 )); do wait -n; running=$((running - 1)); done; }
for recipe in $RECIPES; do
  for seed in $SEEDS; do spawn unit "$recipe" "$seed"; done
done
wait_all
if [[ -n $SIZES ]]; then
  for shape in $SIZES; do
    [[ $shape != *-* || ${shape##*-} =~ ^[0-9]+$ ]] ||
      { echo "recipe-study: SIZES entry '$shape': STEPS after '-' must be a number" >&2; exit 2; }
    shaped_preset "${shape%%-*}"
  done
  for seed in $SEEDS; do spawn size_unit "$seed"; done
fi
wait_all

# 5. the table.
log "table -> $OUT"
python3 bench/recipe_table.py --eval-dir "$STUDY/eval" --out "$OUT" \
  --setting "demo teacher (kd-demo-teacher, D=$EMBED_DIM, trained on the $STUDY_TRAIN train images and $STUDY_PRETRAIN of its own), $STUDY_TRAIN train images, $STUDY_VAL val images, image $IMAGE_STEPS / text $TEXT_STEPS steps at batch $BATCH, lr $LR cosine, seeds: $SEEDS, CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
log "done"
