#!/usr/bin/python3
"""tools/ref/safetensors_ref.py - golden safetensors file for tests/test_safetensors.c.

Writes tests/data/vit/st_reference.safetensors exactly as the `safetensors`
Python package (0.3/0.4, Rust core) serialises a dict of torch tensors:
__metadata__ first, tensors ordered by (dtype alignment descending, name),
compact JSON, header padded with spaces to a multiple of 8. The package is
not installed here, so the layout is written by hand with struct + json; the
tensor bytes come from torch (F16/BF16 rounding done by torch, not by us).
Also writes st_reference.txt: one line per tensor, "name dtype shape... :
values as float32 (%.9g)", the values the C reader must return.

Usage: /usr/bin/python3 tools/ref/safetensors_ref.py [outdir]
"""
import json
import os
import struct
import sys

import torch

DT = {torch.float32: ("F32", 4), torch.float16: ("F16", 2), torch.bfloat16: ("BF16", 2),
      torch.float64: ("F64", 8), torch.int64: ("I64", 8), torch.int32: ("I32", 4),
      torch.uint8: ("U8", 1), torch.int8: ("I8", 1), torch.bool: ("BOOL", 1)}


def save(tensors, path, metadata=None):
    order = sorted(tensors.items(), key=lambda kv: (-DT[kv[1].dtype][1], kv[0]))
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, off = [], 0
    for name, t in order:
        t = t.contiguous()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {"dtype": DT[t.dtype][0], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "tests", "data", "vit")
    g = torch.Generator().manual_seed(1234)
    base = torch.randn(2, 3, 4, generator=g, dtype=torch.float64) * 3.0
    special = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6.1e-5, 5.96e-8, 1e-3, 3.14159265],
                           dtype=torch.float64)
    tensors = {
        "a.f32": base.to(torch.float32),
        "b.f16": base.to(torch.float16),
        "c.bf16": base.to(torch.bfloat16),
        "d.f64": base,
        "e.special_f16": special.to(torch.float16),
        "f.special_bf16": special.to(torch.bfloat16),
        "g.i64": torch.arange(7, dtype=torch.int64) - 3,
        "h.u8": torch.tensor([0, 1, 255], dtype=torch.uint8),
        "i.scalar": torch.tensor(2.5, dtype=torch.float32),
        "j.empty": torch.zeros(0, 5, dtype=torch.float32),
        "vision_model.embeddings.position_ids": torch.arange(5, dtype=torch.int64)[None],
    }
    save(tensors, os.path.join(out, "st_reference.safetensors"),
         metadata={"format": "pt", "note": "golden \"quoted\" value"})
    with open(os.path.join(out, "st_reference.txt"), "w") as f:
        for name in sorted(tensors):
            t = tensors[name]
            vals = t.to(torch.float64).to(torch.float32).flatten().tolist()
            f.write("%s %s %d %s :%s\n" % (name, DT[t.dtype][0], t.dim(),
                                          " ".join(str(s) for s in t.shape),
                                          "".join(" %.9g" % v for v in vals)))


if __name__ == "__main__":
    main()
