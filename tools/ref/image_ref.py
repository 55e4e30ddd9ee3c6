#!/usr/bin/python3
"""tools/ref/image_ref.py - golden decodings of LIVE Challenge images by Pillow.

Writes tests/data/image/livec_pillow.txt, which tests/test_image.c compares
lmmiqa's decoder against. For each image: size, a 64-bit FNV-1a hash and
per-channel sums of the RGB pixels as Pillow decodes them (convert("RGB"),
libjpeg-turbo islow IDCT and fancy upsampling for JPEG), the same for the
MATLAB rgb2gray of those pixels (computed here in float64 with numpy, rounded
half away from zero), and a few sampled pixels.

Run (by a developer, not CI):  /usr/bin/python3 tools/ref/image_ref.py [SHARED_DIR]
"""
import os
import sys

import numpy as np
from PIL import Image, features

IMAGES = ["Images/1024.JPG", "Images/1113.JPG", "Images/1000.JPG", "Images/1100.JPG",
          "Images/10.png", "Images/100.png", "Images/trainingImages/t1.png"]
WEIGHTS = (0.298936021293775, 0.587043074451121, 0.114020904255103)


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    prime = 0x100000001B3
    mask = 0xFFFFFFFFFFFFFFFF
    for b in data:
        h = ((h ^ b) * prime) & mask
    return h


def rgb2gray(rgb: np.ndarray) -> np.ndarray:
    x = rgb.astype(np.float64)
    # Same evaluation order as MATLAB/lmmiqa: (wr*R + wg*G) + wb*B
    v = WEIGHTS[0] * x[..., 0] + WEIGHTS[1] * x[..., 1] + WEIGHTS[2] * x[..., 2]
    r = np.round(v)  # half to even ...
    ties = (v - np.floor(v)) == 0.5
    r[ties] = np.floor(v[ties]) + 1  # ... made half away from zero (v >= 0)
    return np.clip(r, 0, 255).astype(np.uint8)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared")
    livec = os.path.join(shared, "data", "livec")
    out_path = os.path.join(root, "tests", "data", "image", "livec_pillow.txt")
    lines = [
        "# Pillow %s (libjpeg-turbo %s) decodings of LIVE Challenge images; made by "
        "tools/ref/image_ref.py" % (Image.__version__, features.version("libjpeg_turbo")),
        "# path width height fnv_rgb sum_r sum_g sum_b fnv_gray sum_gray then x,y=r,g,b samples",
    ]
    for rel in IMAGES:
        with Image.open(os.path.join(livec, rel)) as im:
            rgb = np.asarray(im.convert("RGB"))
        h, w, _ = rgb.shape
        gray = rgb2gray(rgb)
        sums = rgb.reshape(-1, 3).astype(np.int64).sum(axis=0)
        pts = [(0, 0), (w - 1, h - 1), (w // 2, h // 3), (17, 23), (w - 5, 2)]
        samples = ["%d,%d=%d,%d,%d" % (x, y, *rgb[y, x]) for x, y in pts]
        lines.append("%s %d %d %016x %d %d %d %016x %d %s" % (
            rel, w, h, fnv1a64(rgb.tobytes()), sums[0], sums[1], sums[2],
            fnv1a64(gray.tobytes()), int(gray.astype(np.int64).sum()), " ".join(samples)))
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", out_path)


if __name__ == "__main__":
    main()
