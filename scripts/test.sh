#!/usr/bin/env bash
# The project's test command (README "Run the tests"; CI's .ci/run calls exactly this).
# Builds and runs the whole xunit suite, then prints one plain summary line read from the TRX results:
#   N passed, N failed
set -uo pipefail
cd "$(dirname "$0")/.."

# Installs a Debian package when the check for it fails (apt-get as root, sudo otherwise); tests that need
# a real program get it here rather than skipping.
ensure_package() {
  local package=$1 check=$2
  eval "$check" >/dev/null 2>&1 && return 0
  echo "installing Debian package $package (apt-get install -y $package)"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -q "$package" >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "$package" >/dev/null; } \
    || echo "warning: could not install $package; the tests that need it will fail" >&2
}
# The ONNX export tests hand exported files to a second consumer, the ONNX project's own checker.
ensure_package python3-onnx '/usr/bin/python3 -c "import onnx"'
# The video tests drive the real ffmpeg and ffprobe programs.
ensure_package ffmpeg 'command -v ffmpeg && command -v ffprobe'
# The serve browser test opens /camera in a real headless browser with a fake camera.
ensure_package chromium 'command -v chromium'

results=artifacts/test-results
rm -rf "$results"
mkdir -p "$results"

# One TRX file per test project (a shared file name would be overwritten by the last project to finish).
dotnet test MobileUNet.sln --logger "trx;LogFilePrefix=results" --results-directory "$results" "$@"
status=$?

shopt -s nullglob
trxs=("$results"/results*.trx)
if [ ${#trxs[@]} -eq 0 ]; then
  echo "0 passed, 0 failed (no test results: the build or the test host failed)"
  exit $(( status == 0 ? 1 : status ))
fi
passed=0 failed=0
for trx in "${trxs[@]}"; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  passed=$(( passed + $(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters") ))
  failed=$(( failed + $(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters") ))
done

# The installable tool (README "Install"): pack, install into a temporary tool path, run the installed tool.
# Counted as one more test; SKIP_PACK_INSTALL=1 leaves it out (about 1-2 minutes on 2 cores).
if [ "${SKIP_PACK_INSTALL:-0}" != 1 ]; then
  ./scripts/pack-install-test.sh 2>&1 | tee "$results/pack-install.log"
  if [ "${PIPESTATUS[0]}" -eq 0 ]; then passed=$(( ${passed:-0} + 1 )); else failed=$(( ${failed:-0} + 1 )); [ "$status" -ne 0 ] || status=1; fi
fi
echo "${passed:-0} passed, ${failed:-0} failed"
exit $status
