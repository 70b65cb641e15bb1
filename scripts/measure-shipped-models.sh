#!/usr/bin/env bash
# The model cards' accuracy tables: exports each shipped model's fp32 and int8 ONNX (as scripts/train-real-models.sh
# does) and evaluates fp32 and int8 on real photos the models never trained on.
#
#   scripts/measure-shipped-models.sh [person|person-160|hair|all] [DATASETS_DIR] [RUNS_DIR]
#
# RUNS_DIR is train-real-models.sh's (its teacher-labelled photos calibrate person's int8). Reports go to RUNS_DIR/measured/.
# THREADS=N limits eval to N threads (to measure beside a running training without slowing it).
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
D=${2:-../shared/datasets}
R=${3:-runs/real}
O=$R/measured; mkdir -p "$O"
dotnet build src/MobileUNet.Cli -c Release -v quiet -nologo >/dev/null
mu() { dotnet src/MobileUNet.Cli/bin/Release/net10.0/MobileUNet.Cli.dll "$@"; }
T=(); [ -n "${THREADS:-}" ] && T=(--threads "$THREADS")
scores() { grep -E "mean|pooled|empty" || true; }
# The person models (person a0.5/128, person-160 a0.5/160): the same three sets.
for p in person person-160; do
  [ "$which" = "$p" ] || [ "$which" = all ] || continue
  [ -f models/$p.munet ] || { echo "models/$p.munet: not shipped in this checkout, skipped"; continue; }
  mu export models/$p.munet -o models/$p.onnx
  mu export models/$p.munet --precision int8 --calibration "$R/labels/mix/images" --calibration-count 64 -o models/$p.int8.onnx
  for m in models/$p.munet models/$p.int8.onnx; do
    n=$(basename $m)
    echo "== $n people-val"; mu eval "${T[@]}" -m $m --data "$D/people-val" --json "$O/people-val-$n.json" | scores
    echo "== $n VOC (embedded)"; mu eval "${T[@]}" -m $m --voc data/voc | scores
    echo "== $n real composites (seeded validation, 200)"; mu eval "${T[@]}" -m $m --cutouts "$D/people/cutouts" --backgrounds "$D/people/backgrounds" | scores
  done
done
if [ "$which" = hair ] || [ "$which" = all ]; then
  mu export models/hair.munet -o models/hair.onnx
  mu export models/hair.munet --precision int8 --calibration "$D/lfw-hair/images" --calibration-count 64 -o models/hair.int8.onnx
  for m in models/hair.munet models/hair.int8.onnx; do
    n=$(basename $m)
    echo "== $n lfw-hair held-out split"; mu eval "${T[@]}" -m $m --data "$D/lfw-hair" --split Validation --json "$O/hair-val-$n.json" | scores
  done
fi
