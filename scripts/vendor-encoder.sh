#!/usr/bin/env bash
# Re-creates models/encoders/mobilenet-v1/: the width-1.0 MobileNet v1 backbone of face-api's SSD face detector
# (npm @vladmandic/face-api@1.7.15, MIT), cut out of its TF.js weights unchanged (same uint8 quantisation, same
# bytes) with the two preprocessing constants, and nothing of the detector's heads. `train --encoder-weights
# mobilenet-v1` reads it (src/MobileUNet/Model/PretrainedEncoder.cs).
#
#   scripts/vendor-encoder.sh            (needs npm and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
out=models/encoders/mobilenet-v1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @vladmandic/face-api@1.7.15 >/dev/null && tar xzf vladmandic-face-api-1.7.15.tgz)
mkdir -p "$out"
cp "$tmp/package/LICENSE" "$out/LICENSE"
python3 - "$tmp/package/model" "$out" <<'PY'
import json, sys, os
src, out = sys.argv[1], sys.argv[2]
groups = json.load(open(os.path.join(src, "ssd_mobilenetv1_model-weights_manifest.json")))
width = {"uint8": 1, "uint16": 2, "float32": 4, "int32": 4}
kept, blob = [], bytearray()
for g in groups:
    data = b"".join(open(os.path.join(src, p), "rb").read() for p in g["paths"])
    offset = 0
    for w in g["weights"]:
        n = 1
        for d in w["shape"]: n *= d
        size = n * width[w.get("quantization", {}).get("dtype", w["dtype"])]
        if w["name"].startswith("MobilenetV1/") or w["name"] in ("Preprocessor/mul/x", "Preprocessor/sub/y"):
            kept.append(w); blob += data[offset:offset + size]
        offset += size
open(os.path.join(out, "mobilenet_v1.bin"), "wb").write(blob)
json.dump([{"paths": ["mobilenet_v1.bin"], "weights": kept}], open(os.path.join(out, "weights_manifest.json"), "w"), indent=1)
print(f"{len(kept)} tensors, {len(blob)} bytes -> {out}")
PY
