#!/usr/bin/env bash
# The measurements of README "Segment a million photos / Measured here": the previous predict (a commit before
# the streaming one) against this one, same model, same photos, interleaved rounds; and peak RSS over many 12 MP
# photos. Photos are moving crops of the embedded background photos, made with ffmpeg.
#
#   scripts/predict-throughput.sh vga [OLD_REV=b6556aa] [COUNT=200]      640x480 JPEG -> mask + overlay PNG, 3 rounds
#   scripts/predict-throughput.sh mp12 [COUNT=1000]                       4000x3000 JPEG, peak RSS (VmHWM) every 5 s
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=${WORK:-/tmp/predict-throughput}
mkdir -p "$work"

build() { # build REV DIR: the CLI of a commit, Release, into DIR
  local rev=$1 dir=$2
  [ -x "$dir/MobileUNet.Cli" ] && return
  rm -rf "$work/src-$rev"; git worktree add -f --detach "$work/src-$rev" "$rev" >/dev/null
  dotnet build "$work/src-$rev/src/MobileUNet.Cli" -c Release -o "$dir" -v quiet -nologo >/dev/null
  git worktree remove --force "$work/src-$rev"
}

photos() { # photos OUT WIDTH HEIGHT TOTAL: crops of the embedded backgrounds, then copies up to TOTAL
  local out=$1 w=$2 h=$3 total=$4 i=0
  [ -d "$out" ] && [ "$(ls "$out" | wc -l)" -ge "$total" ] && return
  rm -rf "$out"; mkdir -p "$out"
  for bg in "$repo"/data/default/backgrounds/*.jpg; do
    ffmpeg -v error -y -loop 1 -i "$bg" -vf "scale=$((w*2)):$((h*2)),crop=$w:$h:x='mod(n*97,$w)':y='mod(n*61,$h)'" \
      -frames:v 10 -q:v 3 "$out/b${i}_%03d.jpg"
    i=$((i+1))
  done
  local files=("$out"/*.jpg) k=0
  while [ $(( ${#files[@]} + k )) -lt "$total" ]; do cp "${files[$((k % ${#files[@]}))]}" "$out/copy_$(printf %05d $k).jpg"; k=$((k+1)); done
}

build HEAD "$work/new"
model=$work/a05-128.onnx
[ -f "$model" ] || "$work/new/MobileUNet.Cli" export --untrained --alpha 0.5 --size 128 -o "$model"

case ${1:-vga} in
  vga)
    old=${2:-b6556aa} count=${3:-200}
    build "$old" "$work/old"
    photos "$work/vga" 640 480 "$count"
    for round in 1 2 3; do
      for which in old new; do
        rm -rf "$work/out-$which"
        start=$(date +%s.%N)
        /usr/bin/time -f "%M" -o "$work/rss.txt" "$work/$which/MobileUNet.Cli" predict -m "$model" "$work/vga" -o "$work/out-$which" > "$work/log-$which-$round.txt" 2>&1
        end=$(date +%s.%N)
        python3 -c "w=$end-$start; print(f'round $round $which: {w:.1f} s, {$count/w:.2f} photos/s, peak RSS {int(open(\"$work/rss.txt\").read().split()[-1])//1024} MB, load {open(\"/proc/loadavg\").read().split()[0]}')"
      done
      grep -h "busy ms per photo" "$work/log-new-$round.txt" || true
    done ;;
  mp12)
    count=${2:-1000}
    photos "$work/mp12" 4000 3000 "$count"
    rm -rf "$work/out12"
    /usr/bin/time -f "wall %e s, peak RSS %M KB" -o "$work/time12.txt" "$work/new/MobileUNet.Cli" predict -m "$model" "$work/mp12" -o "$work/out12" > "$work/log12.txt" 2>&1 &
    tpid=$!; sleep 1; pid=$(pgrep -P $tpid -f MobileUNet.Cli | head -1)
    while kill -0 $tpid 2>/dev/null; do
      [ -r /proc/$pid/status ] && echo "$(date +%T) $(grep -E 'VmRSS|VmHWM' /proc/$pid/status | tr -s ' ' | tr '\n' ' ') done=$(wc -l < "$work/out12/manifest-0-of-1.jsonl" 2>/dev/null || echo 0)"
      sleep 5
    done
    wait $tpid || true
    tail -n 2 "$work/log12.txt"; cat "$work/time12.txt" ;;
  *) echo "usage: $0 vga [OLD_REV] [COUNT] | mp12 [COUNT]" >&2; exit 2 ;;
esac
