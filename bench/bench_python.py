#!/usr/bin/env python3
"""Per-image overhead of the Python package over the C call, BRISQUE on
512x384 images, batch 32, one thread (issue goal: under 5 %).

    bench/bench_python.py BUILD_DIR [--reps 7]

Measures in the same run, best of --reps each: the C program bench_pycall
(lmmiqa_store_compute over the files), Extractor("brisque").extract(paths,
jobs=1) (the same C path plus the ctypes call), extract() of uint8 arrays
(the C image made from NumPy memory), and Metric()(paths, jobs=1).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import struct
import zlib

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--batch", type=int, default=32)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    os.environ.setdefault("LMMIQA_LIBRARY", os.path.join(build, "liblmmiqa.so"))
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import lmmiqa

    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:384, 0:512]
    arrays, paths = [], []
    tmp = tempfile.TemporaryDirectory()
    for i in range(a.batch):
        base = 128 + 90 * np.sin(x / (7.0 + i))[..., None] * np.cos(y / 11.0)[..., None]
        img = np.clip(base + rng.normal(0, 4 + i, (384, 512, 3)), 0, 255).astype(np.uint8)
        arrays.append(img)
        p = os.path.join(tmp.name, f"img{i:02d}.png")
        raw = b"".join(b"\0" + img[r].tobytes() for r in range(img.shape[0]))
        def chunk(t, d):
            return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 512, 384, 8, 2, 0, 0, 0))
               + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
        with open(p, "wb") as f:
            f.write(png)
        paths.append(p)

    out = subprocess.run([os.path.join(build, "bench", "bench_pycall"), str(a.reps), *paths],
                         check=True, capture_output=True, text=True).stdout
    c_ms = float(out.split()[1])

    def best(fn):
        t = 1e30
        for _ in range(a.reps):
            t0 = time.perf_counter()
            fn()
            t = min(t, time.perf_counter() - t0)
        return 1e3 * t / a.batch

    ex = lmmiqa.Extractor("brisque")
    m = lmmiqa.Metric()
    py_paths = best(lambda: ex.extract(paths, jobs=1))
    py_arrays = best(lambda: ex.extract(arrays))
    py_metric = best(lambda: m(paths, jobs=1))
    # the load when the benchmark run began (scripts/bench.sh), see bench/bench_load.h
    load = float(os.environ.get("LMMIQA_BENCH_START_LOAD") or os.getloadavg()[0])
    ratios = load <= 0.5
    print(f"BRISQUE, {a.batch} images 512x384, 1 thread, best of {a.reps} (load average {load:.2f})")
    print(f"{'path':<44} {'ms/image':>9} {'overhead vs C':>14}")
    print(f"{'C: lmmiqa_store_compute (bench_pycall)':<44} {c_ms:9.3f} {'-':>14}")
    for name, v in (("Python: Extractor.extract(paths)", py_paths),
                    ("Python: Metric()(paths)**", py_metric),
                    ("Python: Extractor.extract(uint8 arrays)*", py_arrays)):
        over = f"{100 * (v - c_ms) / c_ms:13.1f}%" if ratios else f"{'n/a':>14}"
        print(f"{name:<44} {v:9.3f} {over}")
    print("* no PNG decoding: faster than the C file path; not an overhead figure")
    print("** the built-in model (its own features + head), more work than the C line's "
          "BRISQUE: not an overhead figure")
    if not ratios:
        print(f"(overheads withheld: the 1-minute load average was {load:.2f} at the start, "
              "above 0.5; rerun on an idle machine)")


if __name__ == "__main__":
    main()
