#!/usr/bin/env bash
# The project's test command (README "Run the tests"; CI's .ci/run calls exactly this).
# Builds and runs the whole xunit suite, then prints one plain summary line read from the TRX results:
#   N passed, N failed
set -uo pipefail
cd "$(dirname "$0")/.."

# The ONNX export tests hand exported files to a second consumer, the ONNX project's own checker (python3-onnx).
if ! /usr/bin/python3 -c "import onnx" 2>/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -q python3-onnx >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q python3-onnx >/dev/null; } \
    || echo "warning: could not install python3-onnx; the ONNX checker test will fail" >&2
fi

results=artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

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
