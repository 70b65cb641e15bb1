#!/usr/bin/env bash
# MobileUNet `person` beside MediaPipe selfie segmentation, in one run on the same photos and machine
# (README "Real photos: beside MediaPipe"). Imports MediaPipe's .tflite with our own importer, scores both on a
# folder-pairs set, times both with `bench --model` at 1 and 2 threads, and prints parameters, MACs and sizes.
#
#   scripts/compare-mediapipe.sh [PEOPLE_VAL_DIR] [OUT_DIR]
#
# PEOPLE_VAL_DIR defaults to ../shared/datasets/people-val (not in the repository; see its README).
# Set REFERENCE_ONNX to an independent conversion of the same model to time it too.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/datasets/people-val}
out=${2:-runs/compare-mediapipe}
mkdir -p "$out"
dotnet build src/MobileUNet.Cli -c Release -v quiet -nologo >/dev/null
mu() { dotnet src/MobileUNet.Cli/bin/Release/net10.0/MobileUNet.Cli.dll "$@"; }

mu import models/teachers/mediapipe-selfie/selfie_segmentation.tflite -o "$out/mediapipe-selfie.onnx"
models=("$out/mediapipe-selfie.onnx")
for p in person person-160; do
  [ -f models/$p.munet ] && models+=(src/MobileUNet.Cli/bin/Release/net10.0/models/$p.munet)
  [ -f models/$p.int8.onnx ] && models+=(models/$p.int8.onnx)
done
[ -n "${REFERENCE_ONNX:-}" ] && models+=("$REFERENCE_ONNX")

for m in "${models[@]}"; do
  name=$(basename "$m")
  echo "== $name: $(stat -c %s "$m") bytes"
  mu eval -m "$m" --data "$data" --json "$out/eval-$name.json" | grep -E "mean|pooled"
  mu bench --model "$m" --backend onnx --threads 1,2 --budget-seconds 10 -o "$out/bench-$name" | grep -E "^\| (onnx|torch)" || true
done
