#!/usr/bin/python3
"""Op-type counts of ONNX graphs, e.g. the ones ONNX Runtime writes after its fusions (bench --optimized-graphs DIR)."""
import collections, sys, onnx
for path in sys.argv[1:]:
    g = onnx.load(path).graph
    counts = collections.Counter((n.domain + "." if n.domain else "") + n.op_type for n in g.node)
    print(path, " ".join(f"{k}:{v}" for k, v in sorted(counts.items())))
