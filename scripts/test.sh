#!/usr/bin/env bash
# The project's test command (README "Run the tests"; CI's .ci/run calls exactly this).
# Builds and runs the whole xunit suite, then prints one plain summary line read from the TRX results:
#   N passed, N failed
set -uo pipefail
cd "$(dirname "$0")/.."

results=artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

# The video tests drive the real ffmpeg program (Debian package `ffmpeg`): install it when it is missing.
if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
  echo "ffmpeg not found: installing it (apt-get install -y ffmpeg)"
  if [ "$(id -u)" -eq 0 ]; then apt_get="apt-get"; else apt_get="sudo apt-get"; fi
  $apt_get install -y ffmpeg || { $apt_get update && $apt_get install -y ffmpeg; } \
    || echo "warning: could not install ffmpeg; the video tests will fail (see README, Video)"
fi

dotnet test MobileUNet.sln --logger "trx;LogFileName=results.trx" --results-directory "$results" "$@"
status=$?

trx="$results/results.trx"
if [ ! -f "$trx" ]; then
  echo "0 passed, 0 failed (no test results: the build or the test host failed)"
  exit $(( status == 0 ? 1 : status ))
fi
counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
echo "${passed:-0} passed, ${failed:-0} failed"
exit $status
