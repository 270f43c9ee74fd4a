#!/usr/bin/env bash
# Same-machine before/after of kd-train throughput (a benchmark, not a test): OLD_BIN = the tools of an earlier commit
# (e.g. 6e36393, before the streaming loader), NEW_BIN = this checkout's. Each side extracts its own caches (coco-mini, random
# ViT-B/32 teacher) and trains the seed image and text students; runs alternate OLD NEW OLD NEW.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${OLD_BIN:?build dir bin/ of the earlier commit} NEW=${NEW_BIN:-build/bin} SHARED=${KD_SHARED:-../shared} W=${AB_TMP:-/tmp/kd-train-ab}
rm -rf $W && mkdir -p $W/teacher
$NEW/make_random_teacher_bench --out $W/teacher/t.safetensors --seed 1 > /dev/null
cp $SHARED/clip/bpe_simple_vocab_16e6.txt.gz $W/teacher/
for side in old new; do
  B=$OLD; [[ $side == new ]] && B=$NEW
  $B/kd-extract image --teacher $W/teacher/t.safetensors --images $SHARED/data/coco-mini/image --out $W/$side/cache/image --threads 2 --quiet
  $B/kd-extract text --teacher $W/teacher/t.safetensors --captions $SHARED/data/coco-mini/COCO/annotations/captions_train2017.json --out $W/$side/cache/text --threads 2 --quiet
done
sps() { python3 - "$1" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if "samples_per_s" in l]
s = [r["samples_per_s"] for r in rows if r["step"] > 1]
w = [r.get("data_wait_s") for r in rows if r["step"] > 1 and "data_wait_s" in r]
print("median %.1f best %.1f steps %d%s" % (statistics.median(s), max(s), len(s), (" data_wait mean %.4f s" % (sum(w)/len(w))) if w else ""))
PY
}
for rep in 1 2; do
  for side in old new; do
    B=$OLD; [[ $side == new ]] && B=$NEW
    for ds in image text; do
      steps=7; bs=32; [[ $ds == text ]] && { steps=13; bs=64; }
      name=$ds-$side-$rep
      /usr/bin/time -f "%M" -o $W/rss.txt $B/kd-train --data_dir $W/$side --dataset ${ds}_dataset --batch_size $bs --max_steps $steps --threads 2 --precision 32 --save_dir $W/runs --model_name $name --quiet > $W/$name.log 2>&1 || { cat $W/$name.log; exit 1; }
      echo "$ds $side rep$rep load $(cut -d' ' -f1 /proc/loadavg): $(sps $W/runs/$name/metrics.jsonl) peak_rss_kb $(cat $W/rss.txt)"
    done
  done
done
