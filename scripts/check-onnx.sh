#!/usr/bin/env bash
# A second, independent consumer of our ONNX exports: the reference checker of the ONNX project itself
# (Debian's python3-onnx), with full_check (shape inference over the whole graph, strict mode).
#   scripts/check-onnx.sh model.onnx [more.onnx ...]
# Installs python3-onnx when it is missing (apt-get as root, sudo otherwise).
set -euo pipefail
if [ $# -lt 1 ]; then echo "usage: $0 MODEL.onnx..." >&2; exit 2; fi

# Debian's own interpreter: python3-onnx installs there, whatever python3 is first on PATH (pyenv, venvs).
py=/usr/bin/python3
if ! $py -c "import onnx" 2>/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -q python3-onnx >/dev/null 2>&1 || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q python3-onnx >/dev/null; }
fi

$py - "$@" <<'PY'
import sys, onnx
for path in sys.argv[1:]:
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"ok {path}: ir {model.ir_version}, opset {model.opset_import[0].version}, "
          f"{len(model.graph.node)} nodes, ops {','.join(ops)}, "
          f"inputs {[i.name for i in model.graph.input]}, outputs {[o.name for o in model.graph.output]}")
PY
