#!/usr/bin/env bash
# Usage: train.sh KD_TRAIN RUN_DIR ARGS... — one student run for Makefile.data. Runs `KD_TRAIN ARGS...` (whose
# --save_dir/--model_name must name RUN_DIR) so that RUN_DIR/student.safetensors appears only when training finished:
#   - an interrupted run with the same arguments (RUN_DIR/kd-make-args.txt) is resumed from checkpoints/last.ckpt;
#   - anything else in RUN_DIR (a finished run, or one made with other arguments) is removed first.
set -euo pipefail
kd_train=$1
run=$2
shift 2
args="$*"
if [[ ! -f $run/student.safetensors && -f $run/checkpoints/last.ckpt && -f $run/kd-make-args.txt ]] &&
  [[ "$(cat "$run/kd-make-args.txt")" == "$args" ]]; then
  echo "train.sh: resuming $run from checkpoints/last.ckpt" >&2
  "$kd_train" "$@" --resume "$run"
else
  rm -rf "$run"
  mkdir -p "$run"
  printf '%s\n' "$args" >"$run/kd-make-args.txt"
  "$kd_train" "$@"
fi
[[ -f $run/student.safetensors ]] || { echo "train.sh: kd-train wrote no $run/student.safetensors" >&2; exit 1; }
touch "$run/student.safetensors"
