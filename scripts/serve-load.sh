#!/usr/bin/env bash
# Load test of `mobileunet serve`, bounded and on this machine only (127.0.0.1): a documented run, not a unit
# test. Apache Bench (Debian apache2-utils) posts 640x480 JPEGs at 1, 8 and 32 concurrent clients against the
# micro-batched service and, in the same run, against --max-batch 1; then 10,000 requests while sampling RSS;
# then bombs and garbage mixed into a good load; then both servers side by side, 32-client runs interleaved.
# Writes runs/serve-load/<time>/results.md and prints it.
#   scripts/serve-load.sh [--requests N] [--threads T] [--model NAME|PATH]   (default: untrained a0.5/128, 2 threads)
set -euo pipefail
cd "$(dirname "$0")/.."

requests=600 threads=2 model="" soak=10000 port=18480
while [ $# -gt 0 ]; do
  case $1 in
    --requests) requests=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --soak) soak=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v ab >/dev/null || { echo "needs ab: apt-get install apache2-utils" >&2; exit 1; }
command -v ffmpeg >/dev/null || { echo "needs ffmpeg: apt-get install ffmpeg" >&2; exit 1; }

out=runs/serve-load/$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$out"
dotnet build -c Release src/MobileUNet.Cli -v q -nologo >/dev/null
cli=src/MobileUNet.Cli/bin/Release/net10.0/MobileUNet.Cli.dll
ffmpeg -loglevel error -y -i data/default/backgrounds/dune.jpg -vf scale=640:480 -q:v 3 "$out/photo.jpg"
printf 'not an image at all' > "$out/garbage.txt"
# A decompression bomb: a valid PNG header claiming 65536 x 16384 pixels (see ImageLimitTests).
python3 - "$out/bomb.png" <<'PY'
import struct, sys, zlib
def chunk(kind, data): return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
raw = zlib.compress(bytes(1 + 65536 * 3) * 50, 9)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 65536, 16384, 8, 2, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
PY

model_args=(--untrained --alpha 0.5 --size 128)
[ -n "$model" ] && model_args=(-m "$model")
pid=""
start_server() { # $1 = max batch
  dotnet "$cli" serve "${model_args[@]}" --port $port --threads "$threads" --max-batch "$1" --max-wait-ms 2 --max-queue 64 >"$out/server-$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0; sleep 0.5; done
  echo "server did not start" >&2; cat "$out/server-$1.log" >&2; exit 1
}
stop_server() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true' EXIT
# The server's CPU time so far (user + system, ms): over a run, CPU per request says what each answer costs the cores,
# whatever the scheduling did with the wall time.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15) * 1000 / hz }' "/proc/$pid/stat"; }
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
url="http://127.0.0.1:$port/v1/segment?output=mask"

# ab: requests/s, p50 and p99 (ms), failed + non-2xx
bench() { # $1 clients, $2 requests, $3 file, $4 label
  ab -q -l -n "$2" -c "$1" -p "$3" -T image/jpeg "$url" >"$out/ab-$4.txt" 2>&1 || true
  local rps p50 p99 failed non2xx
  rps=$(awk '/Requests per second/ { print $4 }' "$out/ab-$4.txt")
  p50=$(awk '$1 == "50%" { print $2 }' "$out/ab-$4.txt")
  p99=$(awk '$1 == "99%" { print $2 }' "$out/ab-$4.txt")
  failed=$(awk '/Failed requests/ { print $3 }' "$out/ab-$4.txt")
  non2xx=$(awk '/Non-2xx responses/ { print $3 }' "$out/ab-$4.txt")
  echo "$rps ${p50:-?} ${p99:-?} ${failed:-0} ${non2xx:-0}"
}

{
echo "# serve load, $(date -u +%FT%TZ), $(nproc) cores, model ${model:-untrained a0.5/128}, ORT threads $threads, spinning off"
echo
echo "| max batch | clients | requests | req/s | p50 ms | p99 ms | failed | non-2xx | mean batch | inference images/s | server CPU ms / request |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$out/results.md"
for batch in 8 1; do
  start_server $batch
  ab -q -n 50 -c 4 -p "$out/photo.jpg" -T image/jpeg "$url" >/dev/null 2>&1 || true # warm-up
  for clients in 1 8 32; do
    n=$requests; [ "$clients" -eq 1 ] && n=$(( requests / 2 ))
    b0=$(metric mobileunet_batch_size_count); i0=$(metric mobileunet_inference_images_total)
    s0=$(metric 'mobileunet_stage_seconds_total{stage="inference"}'); c0=$(cpu_ms)
    read -r rps p50 p99 failed non2xx < <(bench "$clients" "$n" "$out/photo.jpg" "b$batch-c$clients")
    b1=$(metric mobileunet_batch_size_count); i1=$(metric mobileunet_inference_images_total)
    s1=$(metric 'mobileunet_stage_seconds_total{stage="inference"}'); c1=$(cpu_ms)
    mean=$(awk -v i="$((i1 - i0))" -v b="$((b1 - b0))" 'BEGIN { printf "%.2f", i / b }')
    ips=$(awk -v i="$((i1 - i0))" -v s0="$s0" -v s1="$s1" 'BEGIN { printf "%.0f", i / (s1 - s0) }')
    cpu=$(awk -v c="$((c1 - c0))" -v n="$n" 'BEGIN { printf "%.2f", c / n }')
    echo "| $batch | $clients | $n | $rps | $p50 | $p99 | $failed | $non2xx | $mean | $ips | $cpu |" >>"$out/results.md"
  done
  curl -s "http://127.0.0.1:$port/metrics" >"$out/metrics-b$batch.txt"
  # Where the time goes, summed over every request of this server (wall seconds per stage).
  { echo; echo "Seconds per stage, max batch $batch, all requests above:"; echo
    grep '^mobileunet_stage_seconds_total' "$out/metrics-b$batch.txt" | sed 's/^mobileunet_stage_seconds_total/    /'; } >>"$out/stages.md"
  if [ "$batch" -eq 8 ]; then
    # RSS over $soak requests at 8 clients.
    rss0=$(awk '/VmRSS/ { print $2 }' /proc/$pid/status)
    read -r rps p50 p99 failed non2xx < <(bench 8 "$soak" "$out/photo.jpg" soak)
    rss1=$(awk '/VmRSS/ { print $2 }' /proc/$pid/status)
    read -r rps2 p502 p992 failed2 non2xx2 < <(bench 8 "$(( soak / 5 ))" "$out/photo.jpg" soak2)
    rss2=$(awk '/VmRSS/ { print $2 }' /proc/$pid/status)
    { echo; echo "RSS over $soak requests at 8 clients: $((rss0 / 1024)) MiB before, $((rss1 / 1024)) MiB after ($rps req/s, failed $failed, non-2xx $non2xx); $((rss2 / 1024)) MiB after $(( soak / 5 )) more."; } >>"$out/stages.md"
    # Bombs and garbage mixed into a good load: each answered with its status, the good ones all succeed.
    ab -q -l -n 100 -c 2 -p "$out/bomb.png" -T image/png "$url" >"$out/ab-bomb.txt" 2>&1 & bombs=$!
    ab -q -l -n 100 -c 2 -p "$out/garbage.txt" -T image/jpeg "$url" >"$out/ab-garbage.txt" 2>&1 & garbage=$!
    read -r rps p50 p99 failed non2xx < <(bench 8 400 "$out/photo.jpg" mixed)
    wait "$bombs" "$garbage" || true
    curl -s "http://127.0.0.1:$port/metrics" | grep '^mobileunet_requests_total' >"$out/mixed-status.txt"
    { echo; echo "Mixed: 400 good at 8 clients ($rps req/s, failed $failed, non-2xx $non2xx) while 100 bombs and 100 garbage bodies ran; statuses so far:"; echo
      sed 's/^/    /' "$out/mixed-status.txt"; } >>"$out/stages.md"
  fi
  stop_server
done
cat "$out/stages.md" >>"$out/results.md"

# Batched against one at a time once more, interleaved: both servers up at once (the idle one costs nothing), each
# warmed with 1,000 requests, then $rounds rounds of $requests requests at 32 clients, alternating. Runs in a row drift
# by 10% on a shared machine; alternating puts both under the same drift, and the median of the rounds decides.
rounds=4
dotnet "$cli" serve "${model_args[@]}" --port $port --threads "$threads" --max-batch 8 --max-wait-ms 2 --max-queue 64 >"$out/server-pair-8.log" 2>&1 &
pid=$!
dotnet "$cli" serve "${model_args[@]}" --port $((port + 1)) --threads "$threads" --max-batch 1 --max-wait-ms 2 --max-queue 64 >"$out/server-pair-1.log" 2>&1 &
pid1=$!
trap 'kill -TERM $pid $pid1 2>/dev/null || true' EXIT
for p in $port $((port + 1)); do
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$p/healthz" >/dev/null && break; sleep 0.5; done
  ab -q -n 1000 -c 8 -p "$out/photo.jpg" -T image/jpeg "http://127.0.0.1:$p/v1/segment?output=mask" >/dev/null 2>&1 || true
done
{ echo; echo "Interleaved at 32 clients ($rounds rounds of $requests, both servers up, alternating):"; echo
  echo "| round | max batch 8 req/s | max batch 1 req/s | ratio |"; echo "|---:|---:|---:|---:|"; } >>"$out/results.md"
ratios=()
for r in $(seq 1 $rounds); do
  b8=$(ab -q -n "$requests" -c 32 -p "$out/photo.jpg" -T image/jpeg "http://127.0.0.1:$port/v1/segment?output=mask" 2>&1 | awk '/Requests per second/ { print $4 }')
  b1=$(ab -q -n "$requests" -c 32 -p "$out/photo.jpg" -T image/jpeg "http://127.0.0.1:$((port + 1))/v1/segment?output=mask" 2>&1 | awk '/Requests per second/ { print $4 }')
  ratio=$(awk -v a="$b8" -v b="$b1" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio")
  echo "| $r | $b8 | $b1 | $ratio |" >>"$out/results.md"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
echo "Median ratio, batched over one at a time: $median" >>"$out/results.md"
kill -TERM "$pid" "$pid1"; wait "$pid" "$pid1" || true; pid=""
cat "$out/results.md"
