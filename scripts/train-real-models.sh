#!/usr/bin/env bash
# How the shipped models (models/person.munet, models/hair.munet) were trained: the exact commands, in order.
# The photos are not in the repository (../shared/datasets/README.md: their terms are unstated); pass their folder.
#
#   scripts/train-real-models.sh [DATASETS_DIR] [RUNS_DIR]
#
# Each step is resumable (rerun the script: finished runs are skipped, an interrupted one continues with --resume).
# Wall times in the model cards were measured on 2 shared cores with --threads 1 per run.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-../shared/datasets}
R=${2:-runs/real}
mkdir -p "$R"
dotnet build src/MobileUNet.Cli -c Release -v quiet -nologo >/dev/null
mu() { dotnet src/MobileUNet.Cli/bin/Release/net10.0/MobileUNet.Cli.dll "$@"; }
# Train into $1 unless it already finished; resume it when it was interrupted.
train() {
  local out=$1; shift
  if [ -f "$out/last.munet" ]; then mu train "$@" -o "$out" --resume; else mu train "$@" -o "$out"; fi
}

# The teacher: MediaPipe selfie segmentation (Apache-2.0, vendored), imported into our ONNX format, labels the LFW
# photos (people, for the person task) and the background photos (mostly empty: negatives).
mu import models/teachers/mediapipe-selfie/selfie_segmentation.tflite -o "$R/mediapipe-selfie.onnx"
mu data label -m "$R/mediapipe-selfie.onnx" "$D/lfw-hair/images" -o "$R/labels/lfw-person"
mu data label -m "$R/mediapipe-selfie.onnx" "$D/people/backgrounds" -o "$R/labels/bg-person"
mkdir -p "$R/labels/mix/images" "$R/labels/mix/masks"
for d in lfw-person bg-person; do
  for k in images masks; do ln -sf "$(realpath "$R/labels/$d/$k")"/* "$R/labels/mix/$k/"; done
done

# person and person-160 (since 2026-12-03): a full-width network (alpha 1, which takes face-api's encoder whole) trained
# one cosine on the same mix from the start, then narrowed to alpha 0.5 (`train --init WIDER --alpha 0.5`: each layer
# keeps the channels its batch norm scales most) and trained on (person: three cosines). The models shipped before came from five
# cycles at alpha 0.5 from scratch (about 6 h; git history of this script, models/person.md), which these replace.
train "$R/person-a1" --cutouts "$D/people/cutouts" --backgrounds "$D/people/backgrounds" \
  --mix "$R/labels/mix" --mix-share 0.5 --mix-targets Hard --alpha 1 --size 128 --encoder-weights mobilenet-v1 \
  --lr 0.003 --steps 60 --minutes 100 --threads 1 --seed 4
train "$R/person-narrow128" --cutouts "$D/people/cutouts" --backgrounds "$D/people/backgrounds" \
  --mix "$R/labels/mix" --mix-share 0.5 --mix-targets Hard --init "$R/person-a1/last.munet" --alpha 0.5 --size 128 \
  --lr 0.002 --steps 60 --minutes 105 --threads 1 --seed 6
# person: a second cosine at half the peak rate (its validation composites were still rising at the end of the first).
train "$R/person-c2-128" --cutouts "$D/people/cutouts" --backgrounds "$D/people/backgrounds" \
  --mix "$R/labels/mix" --mix-share 0.5 --mix-targets Hard --init "$R/person-narrow128/last.munet" \
  --lr 0.001 --steps 60 --minutes 105 --threads 1 --seed 12
# person: a fourth step, one more cosine with a quarter of the samples from the teacher-labelled photos (LFW faces and
# backgrounds) instead of half; beside the same run at 0.5 it scored 0.020 higher on people-val (models/person.md,
# "Mix share"). It ran at about 39 img/s a core, the loader's malloc settings (README, "Requirements") included.
train "$R/person-c3-s25" --cutouts "$D/people/cutouts" --backgrounds "$D/people/backgrounds" \
  --mix "$R/labels/mix" --mix-share 0.25 --mix-targets Hard --init "$R/person-c2-128/last.munet" \
  --lr 0.0007 --steps 60 --minutes 85 --threads 1 --seed 31
# person-160: the alpha-1 network fine-tuned at input 160, then narrowed the same way at 160.
train "$R/person-a1-160" --cutouts "$D/people/cutouts" --backgrounds "$D/people/backgrounds" \
  --mix "$R/labels/mix" --mix-share 0.5 --mix-targets Hard --init "$R/person-a1/last.munet" --size 160 \
  --lr 0.0008 --steps 60 --minutes 40 --threads 1 --seed 5
train "$R/person-narrow160" --cutouts "$D/people/cutouts" --backgrounds "$D/people/backgrounds" \
  --mix "$R/labels/mix" --mix-share 0.5 --mix-targets Hard --init "$R/person-a1-160/last.munet" --alpha 0.5 --size 160 \
  --lr 0.002 --steps 60 --minutes 90 --threads 1 --seed 7
# person-160: the same fourth step as person, shorter (27 min, 2 threads, the machine otherwise idle).
train "$R/p160-c3-s25" --cutouts "$D/people/cutouts" --backgrounds "$D/people/backgrounds" \
  --mix "$R/labels/mix" --mix-share 0.25 --mix-targets Hard --init "$R/person-narrow160/last.munet" \
  --lr 0.0007 --steps 60 --minutes 27 --threads 2 --seed 32

# hair: LFW hair masks, split by person (9:1), from the pretrained MobileNet v1 encoder (its leading channels at
# alpha 0.5), then two more cosine cycles.
train "$R/hair-pre" --data "$D/lfw-hair" --alpha 0.5 --size 128 --encoder-weights mobilenet-v1 \
  --steps 85 --minutes 40 --threads 1 --seed 1
train "$R/hair-pre2" --data "$D/lfw-hair" --init "$R/hair-pre/best.munet" --lr 0.0015 --steps 85 --minutes 55 --threads 1 --seed 2
# hair, phase 3: a third cycle from phase 2's last checkpoint at a lower peak rate.
train "$R/hair-c3" --data "$D/lfw-hair" --init "$R/hair-pre2/last.munet" --lr 0.001 --steps 85 --minutes 50 --threads 1 --seed 3
# hair, phase 4: a fourth, shorter cycle at a lower peak rate (2 threads: it ran alone).
train "$R/hair-c4" --data "$D/lfw-hair" --init "$R/hair-c3/last.munet" --lr 0.0007 --steps 85 --minutes 25 --threads 2 --seed 4

# Ship: weights (MobileUNet.Training and the tool run them), their fp32 ONNX export (what MobileUNet.Core runs, without
# TorchSharp; a test checks it is the export of the weights), and an int8 ONNX where it stays within 0.01 IoU of fp32
# (checked with eval, model cards).
# person: the end of the cosine (its validation composites are not the real photos it is for; best.munet is chosen on them).
cp "$R/person-c3-s25/last.munet" models/person.munet
cp "$R/p160-c3-s25/last.munet" models/person-160.munet
cp "$R/hair-c4/last.munet" models/hair.munet
mu export models/person.munet -o models/person.onnx
mu export models/person-160.munet -o models/person-160.onnx
mu export models/hair.munet -o models/hair.onnx
mu export models/person.munet --precision int8 --calibration "$R/labels/mix/images" --calibration-count 64 -o models/person.int8.onnx
mu export models/person-160.munet --precision int8 --calibration "$R/labels/mix/images" --calibration-count 64 -o models/person-160.int8.onnx
mu export models/hair.munet --precision int8 --calibration "$D/lfw-hair/images" --calibration-count 64 -o models/hair.int8.onnx
