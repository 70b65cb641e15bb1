#!/usr/bin/env python3
"""Would an edge-aware refinement of the predicted matte at the photo's own size raise IoU? A diagnostic, not part
of any command (models/hair.md, "Diagnostics"). He et al.'s guided filter (grey or colour guide) is run on each
matte that `predict --output-kind matte` wrote, with the photo as the guide, and the result is thresholded at 0.5
and scored against the mask, beside the unrefined matte (which reproduces `eval`'s figures). The radius is given in
model-input pixels and scaled to each photo. Needs Debian's python3-numpy and python3-pil.

    mobileunet predict -m hair --list NAMES.txt --output-kind matte -o /tmp/mattes
    /usr/bin/python3 scripts/matte-refine-check.py ../shared/datasets/lfw-hair/images ../shared/datasets/lfw-hair/masks /tmp/mattes 128
"""
import os
import sys

import numpy as np
from PIL import Image


def box(a, r):
    """Mean over the (2r+1)^2 window, normalised by the number of pixels inside the photo."""
    def along(x, axis):
        c = np.cumsum(x, axis=axis, dtype=np.float64)
        n = x.shape[axis]
        hi = np.take(c, np.minimum(np.arange(n) + r, n - 1), axis=axis)
        lo_index = np.arange(n) - r - 1
        shape = [-1 if i == axis else 1 for i in range(x.ndim)]
        lo = np.where((lo_index >= 0).reshape(shape), np.take(c, np.maximum(lo_index, 0), axis=axis), 0)
        return hi - lo
    count = along(along(np.ones(a.shape[:2]), 0), 1)
    total = along(along(a, 0), 1)
    return total / (count if a.ndim == 2 else count[..., None])


def guided_grey(guide, p, r, eps):
    mean_i, mean_p = box(guide, r), box(p, r)
    a = (box(guide * p, r) - mean_i * mean_p) / (box(guide * guide, r) - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    return box(a, r) * guide + box(b, r)


def guided_colour(guide, p, r, eps):
    mean_i, mean_p = box(guide, r), box(p, r)
    cov = box(guide * p[..., None], r) - mean_i * mean_p[..., None]
    sigma = np.empty(p.shape + (3, 3))
    for i in range(3):
        for j in range(3):
            sigma[..., i, j] = box(guide[..., i] * guide[..., j], r) - mean_i[..., i] * mean_i[..., j]
    sigma += eps * np.eye(3)
    a = np.linalg.solve(sigma, cov[..., None])[..., 0]
    b = mean_p - (a * mean_i).sum(-1)
    return (box(a, r) * guide).sum(-1) + box(b, r)


def score(images, masks, mattes, mode, radius, eps, model_size):
    ious, tp_all, union_all = [], 0, 0
    for f in sorted(os.listdir(mattes)):
        if not f.endswith(".matte.png"):
            continue
        photo = f[: -len(".matte.png")]
        p = np.asarray(Image.open(os.path.join(mattes, f)).convert("L"), dtype=np.float64) / 255
        truth = np.asarray(Image.open(os.path.join(masks, os.path.splitext(photo)[0] + ".png")).convert("L")) > 127
        if mode != "none":
            rgb = np.asarray(Image.open(os.path.join(images, photo)).convert("RGB"), dtype=np.float64) / 255
            r = max(1, int(round(radius * min(rgb.shape[:2]) / model_size)))
            p = guided_grey(rgb.mean(-1), p, r, eps) if mode == "grey" else guided_colour(rgb, p, r, eps)
        pred = p >= 0.5
        tp, union = (pred & truth).sum(), (pred | truth).sum()
        ious.append(1.0 if union == 0 else tp / union)
        tp_all, union_all = tp_all + tp, union_all + union
    return np.mean(ious), tp_all / union_all


if __name__ == "__main__":
    images, masks, mattes, model_size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    print("unrefined: mean %.4f pooled %.4f" % score(images, masks, mattes, "none", 0, 0, model_size))
    for mode in ("grey", "colour"):
        for radius in (1, 2, 4):
            for eps in (1e-3, 1e-2):
                print("%s r=%d eps=%g: mean %.4f pooled %.4f" % ((mode, radius, eps) + score(images, masks, mattes, mode, radius, eps, model_size)))
