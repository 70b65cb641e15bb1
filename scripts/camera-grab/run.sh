#!/usr/bin/env bash
# Times the two ways the camera page can read a frame's pixels (see index.html) in headless Chromium with a fake
# 640x480 30 FPS camera (ffmpeg's test pattern), and prints the page's JSON: median and p90 ms over 50 frames.
#   scripts/camera-grab/run.sh        (needs chromium, ffmpeg, python3; localhost only)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=640x480:rate=30 -t 3 -pix_fmt yuv420p "$work/clip.y4m"
# A static server for the page that writes the page's POSTed result to a file.
python3 - "$here" "$work/result.json" 18490 <<'PY' &
import http.server, sys
root, result, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k): super().__init__(*a, directory=root, **k)
    def do_POST(self):
        open(result, "wb").write(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
PY
server=$!
sleep 1
timeout 60 chromium --headless --no-sandbox --no-first-run --mute-audio --disable-gpu --user-data-dir="$work/profile" \
  --use-fake-ui-for-media-stream --use-fake-device-for-media-stream --use-file-for-fake-video-capture="$work/clip.y4m" \
  http://127.0.0.1:18490/index.html >/dev/null 2>&1 &
browser=$!
for _ in $(seq 1 50); do [ -s "$work/result.json" ] && break; sleep 1; done
kill "$browser" 2>/dev/null || true
[ -s "$work/result.json" ] || { echo "no result from the page" >&2; exit 1; }
chromium --version
cat "$work/result.json"; echo
