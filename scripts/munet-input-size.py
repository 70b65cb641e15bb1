#!/usr/bin/env python3
"""Copy a .munet weights file with another input size in its header (models/person-160.md: `person`'s weights run
at 160 before any training at that size). The network is fully convolutional, so its weights do not depend on the
input size (train --init accepts any size for the same reason); only the header's Spec.InputSize and label change.

    python3 scripts/munet-input-size.py models/person.munet /tmp/person-at-160.munet 160
    mobileunet eval -m /tmp/person-at-160.munet --data ../shared/datasets/people-val

The framing (src/MobileUNet/Model/WeightsFormat.cs): the magic MUNETW01, an int32 length, the JSON header, then the
state dict, which is copied unchanged.
"""
import json
import struct
import sys

source, target, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
if size <= 0 or size % 32:
    sys.exit(f"{size}: the input size must be a positive multiple of 32")
data = open(source, "rb").read()
if data[:8] != b"MUNETW01":
    sys.exit(f"{source}: not a .munet weights file")
length = struct.unpack("<i", data[8:12])[0]
header = json.loads(data[12:12 + length].decode("utf-8"))
spec = header["Spec"]
spec["InputSize"] = size
spec["Label"] = f"a{spec['Alpha']:g}-s{size}"
encoded = json.dumps(header, indent=2).encode("utf-8")
with open(target, "wb") as out:
    out.write(data[:8] + struct.pack("<i", len(encoded)) + encoded + data[12 + length:])
