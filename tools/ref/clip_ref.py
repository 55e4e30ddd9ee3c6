#!/usr/bin/python3
"""tools/ref/clip_ref.py - reference CLIP-family vision towers and golden data.

Written for /usr/bin/python3 with torch 1.13, numpy and Pillow (transformers
and open_clip are not needed). The vision transformer is written out here
following the Hugging Face CLIPVisionModel/AltCLIPVisionModel and OpenAI
CLIP VisionTransformer definitions and evaluated in float64.

Weights are "published layouts" (see ../shared/reference/checkpoints/*.tsv)
filled with numbers from a counter-based generator that the C tests
reimplement bit-exactly (src/models/vit_random.c):
    seed(name) = fnv1a64(name) ^ (seed * 0x9E3779B97F4A7C15)
    z_i = splitmix64_mix(seed(name) + (i + 1) * 0x9E3779B97F4A7C15)
    u_i = (z_i >> 40) * 2^-23 - 1            (exact float32 in [-1, 1))
scaled per tensor kind (all scales are powers of two, so float32 exact):
    linear/conv weight  u * 2^-floor(log2(fan_in)/2 + 1/2)
    bias                u * 2^-5
    LayerNorm weight    1 + u * 2^-3   (float32 addition)
    LayerNorm bias      u * 2^-4
    class embedding     u * 2^-1
    position embedding  u * 2^-2
The generator runs on the Hugging Face names; other layouts are mappings.

Modes:
  --tiny            golden embeddings of small configurations for every loader
                    variant -> tests/data/vit/golden_tiny.txt, plus the small
                    torch.save zip tests/data/vit/micro_hps.pt (HPS layout).
  --preprocess      Pillow golden data for the CLIP preprocessing ->
                    tests/data/vit/golden_preprocess.txt
  --full DIR        full-size ViT-B/16 (HF safetensors + config.json) and
                    ViT-L/14 (HPS layout, torch.save zip) checkpoints into DIR
                    (large, not committed) and their golden embeddings ->
                    tests/data/vit/golden_full.txt
"""
import collections
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "data", "vit"))
MEAN = np.array([0.48145466, 0.4578275, 0.40821073])
STD = np.array([0.26862954, 0.26130258, 0.27577711])
GOLDEN_SEED = 7
M64 = (1 << 64) - 1

# ----------------------------------------------------------------- generator


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h ^= b
        h = (h * 0x100000001B3) & M64
    return h


def uniform(name, n, seed):
    s = np.uint64(fnv1a64(name) ^ ((seed * 0x9E3779B97F4A7C15) & M64))
    with np.errstate(over="ignore"):
        z = s + (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -23)) - np.float32(1.0)


def pow2_scale(fan_in):
    return np.float32(2.0 ** -math.floor(math.log2(fan_in) / 2 + 0.5))  # = C lround


def hf_names(cfg):
    """Canonical (HF) vision tensor names with shapes and kinds."""
    W, P, L, M, E = cfg["width"], cfg["patch"], cfg["layers"], cfg["mlp"], cfg["proj"]
    T = (cfg["image"] // P) ** 2 + 1
    v = "vision_model."
    out = [(v + "embeddings.class_embedding", [W], "cls"),
           (v + "embeddings.patch_embedding.weight", [W, 3, P, P], ("w", 3 * P * P)),
           (v + "embeddings.position_embedding.weight", [T, W], "pos"),
           (v + "pre_layrnorm.weight", [W], "lnw"), (v + "pre_layrnorm.bias", [W], "lnb")]
    for i in range(L):
        p = v + "encoder.layers.%d." % i
        for q in ("k_proj", "v_proj", "q_proj", "out_proj"):
            out += [(p + "self_attn.%s.weight" % q, [W, W], ("w", W)),
                    (p + "self_attn.%s.bias" % q, [W], "b")]
        out += [(p + "layer_norm1.weight", [W], "lnw"), (p + "layer_norm1.bias", [W], "lnb"),
                (p + "mlp.fc1.weight", [M, W], ("w", W)), (p + "mlp.fc1.bias", [M], "b"),
                (p + "mlp.fc2.weight", [W, M], ("w", M)), (p + "mlp.fc2.bias", [W], "b"),
                (p + "layer_norm2.weight", [W], "lnw"), (p + "layer_norm2.bias", [W], "lnb")]
    out += [(v + "post_layernorm.weight", [W], "lnw"), (v + "post_layernorm.bias", [W], "lnb"),
            ("visual_projection.weight", [E, W], ("w", W))]
    return out


def make_weights(cfg, seed=GOLDEN_SEED):
    """dict name -> float32 numpy array (HF names)."""
    w = {}
    for name, shape, kind in hf_names(cfg):
        n = int(np.prod(shape))
        u = uniform(name, n, seed)
        if isinstance(kind, tuple):
            x = u * pow2_scale(kind[1])
        elif kind == "b":
            x = u * np.float32(2.0 ** -5)
        elif kind == "lnw":
            x = np.float32(1.0) + u * np.float32(2.0 ** -3)
        elif kind == "lnb":
            x = u * np.float32(2.0 ** -4)
        elif kind == "cls":
            x = u * np.float32(0.5)
        else:
            x = u * np.float32(0.25)
        w[name] = x.astype(np.float32).reshape(shape)
    return w


def round_f16(a):
    return a.astype(np.float16).astype(np.float32)


def round_bf16(a):
    u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    u = (u + np.uint64(0x7FFF) + ((u >> np.uint64(16)) & np.uint64(1))) & np.uint64(0xFFFF0000)
    return u.astype(np.uint32).view(np.float32)


# ----------------------------------------------------------------- the model


def vit_forward(w, cfg, pixels):
    """float64 forward. pixels: [B, 3, S, S] numpy float64. Returns [B, E]."""
    t = {k: torch.from_numpy(v.astype(np.float64)) for k, v in w.items()}
    W, P, H = cfg["width"], cfg["patch"], cfg["heads"]
    d = W // H
    eps = cfg.get("eps", 1e-5)
    v = "vision_model."
    x = torch.from_numpy(pixels)
    B = x.shape[0]
    x = torch.nn.functional.conv2d(x, t[v + "embeddings.patch_embedding.weight"], stride=P)
    x = x.flatten(2).transpose(1, 2)
    cls = t[v + "embeddings.class_embedding"].expand(B, 1, W)
    x = torch.cat([cls, x], 1) + t[v + "embeddings.position_embedding.weight"]

    def ln(x, name):
        return torch.nn.functional.layer_norm(x, (W,), t[name + ".weight"], t[name + ".bias"], eps)

    def lin(x, name):
        return x @ t[name + ".weight"].T + (t[name + ".bias"] if name + ".bias" in t else 0)

    x = ln(x, v + "pre_layrnorm")
    T = x.shape[1]
    for i in range(cfg["layers"]):
        p = v + "encoder.layers.%d." % i
        h = ln(x, p + "layer_norm1")
        q = lin(h, p + "self_attn.q_proj") * (d ** -0.5)
        k = lin(h, p + "self_attn.k_proj")
        vv = lin(h, p + "self_attn.v_proj")
        q, k, vv = (z.reshape(B, T, H, d).transpose(1, 2) for z in (q, k, vv))
        a = torch.softmax(q @ k.transpose(-1, -2), -1) @ vv
        a = a.transpose(1, 2).reshape(B, T, W)
        x = x + lin(a, p + "self_attn.out_proj")
        h = lin(ln(x, p + "layer_norm2"), p + "mlp.fc1")
        if cfg.get("act", "quick_gelu") == "quick_gelu":
            h = h * torch.sigmoid(1.702 * h)
        else:
            h = torch.nn.functional.gelu(h)
        x = x + lin(h, p + "mlp.fc2")
    pooled = ln(x[:, 0], v + "post_layernorm")
    return (pooled @ t["visual_projection.weight"].T).numpy()


# ----------------------------------------------------------------- layouts


def to_openai(w, cfg):
    o = collections.OrderedDict()
    v = "vision_model."
    o["visual.class_embedding"] = w[v + "embeddings.class_embedding"]
    o["visual.positional_embedding"] = w[v + "embeddings.position_embedding.weight"]
    o["visual.proj"] = np.ascontiguousarray(w["visual_projection.weight"].T)
    o["visual.conv1.weight"] = w[v + "embeddings.patch_embedding.weight"]
    o["visual.ln_pre.weight"] = w[v + "pre_layrnorm.weight"]
    o["visual.ln_pre.bias"] = w[v + "pre_layrnorm.bias"]
    for i in range(cfg["layers"]):
        p = v + "encoder.layers.%d." % i
        r = "visual.transformer.resblocks.%d." % i
        o[r + "attn.in_proj_weight"] = np.concatenate(
            [w[p + "self_attn.%s_proj.weight" % c] for c in "qkv"], 0)
        o[r + "attn.in_proj_bias"] = np.concatenate(
            [w[p + "self_attn.%s_proj.bias" % c] for c in "qkv"], 0)
        o[r + "attn.out_proj.weight"] = w[p + "self_attn.out_proj.weight"]
        o[r + "attn.out_proj.bias"] = w[p + "self_attn.out_proj.bias"]
        o[r + "ln_1.weight"] = w[p + "layer_norm1.weight"]
        o[r + "ln_1.bias"] = w[p + "layer_norm1.bias"]
        o[r + "mlp.c_fc.weight"] = w[p + "mlp.fc1.weight"]
        o[r + "mlp.c_fc.bias"] = w[p + "mlp.fc1.bias"]
        o[r + "mlp.c_proj.weight"] = w[p + "mlp.fc2.weight"]
        o[r + "mlp.c_proj.bias"] = w[p + "mlp.fc2.bias"]
        o[r + "ln_2.weight"] = w[p + "layer_norm2.weight"]
        o[r + "ln_2.bias"] = w[p + "layer_norm2.bias"]
    o["visual.ln_post.weight"] = w[v + "post_layernorm.weight"]
    o["visual.ln_post.bias"] = w[v + "post_layernorm.bias"]
    return o


ST_DT = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int64): "I64"}


def save_safetensors(tensors, path, metadata=None, bf16=False):
    """The safetensors package's layout, written by hand (package absent)."""
    def dt(a):
        return "BF16" if (bf16 and a.dtype == np.float32) else ST_DT[a.dtype]
    size = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}
    order = sorted(tensors.items(), key=lambda kv: (-size[dt(kv[1])], kv[0]))
    header = {"__metadata__": metadata or {"format": "pt"}}
    blobs, off = [], 0
    for name, a in order:
        if dt(a) == "BF16":
            raw = (round_bf16(a).view(np.uint32) >> np.uint32(16)).astype("<u2").tobytes()
        else:
            raw = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dt(a), "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def hf_config(cfg):
    return {"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": cfg["proj"],
            "text_config": {"hidden_size": 32},
            "vision_config": {"hidden_size": cfg["width"], "num_hidden_layers": cfg["layers"],
                              "num_attention_heads": cfg["heads"], "intermediate_size": cfg["mlp"],
                              "patch_size": cfg["patch"], "image_size": cfg["image"],
                              "hidden_act": cfg.get("act", "quick_gelu"),
                              "layer_norm_eps": cfg.get("eps", 1e-5)}}


def save_hps_zip(w, cfg, path, half=False, strided_proj=True):
    """torch.save({'state_dict': OrderedDict(OpenAI names), ...}) like hpc.pt."""
    o = to_openai(w, cfg)
    sd = collections.OrderedDict()
    for i, (k, a) in enumerate(o.items()):
        t = torch.from_numpy(np.ascontiguousarray(a))
        if half and i % 3 != 2:  # mostly half storages, some float
            t = t.half()
        if k == "visual.proj" and strided_proj:
            # same values, stored transposed: a non-contiguous view
            t = t.t().contiguous().t()
        if i % 2 == 0:
            t = torch.nn.Parameter(t, requires_grad=False)
        sd[k] = t
    sd["token_embedding.weight"] = torch.zeros(4, 8)
    sd["logit_scale"] = torch.tensor(4.6052)
    torch.save({"state_dict": sd, "epoch": 3, "lr": 1e-5, "note": "lmmiqa test"}, path)


# ----------------------------------------------------------------- images


def synth_image(k):
    """Deterministic RGB test images (also generated by the C tests)."""
    w, h = [(64, 48), (40, 73)][k]
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    for c in range(3):
        img[..., c] = (x * (31 + 7 * k) + y * 17 + c * 97 + (x * y) % 23) % 256
    return Image.fromarray(img, "RGB")


def resize_short(im, size):
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    if short == size:
        return im
    new_long = int(size * long / short)
    ow, oh = (size, new_long) if w <= h else (new_long, size)
    return im.resize((ow, oh), Image.BICUBIC)


def crop_offsets(w, h, size, conv):
    if conv == "hf":   # transformers image_transforms.center_crop
        return (w - size) // 2, (h - size) // 2
    # torchvision.transforms.functional.center_crop (Python 3 round: half to even)
    return int(round((w - size) / 2.0)), int(round((h - size) / 2.0))


def preprocess(im, size, conv):
    im = resize_short(im.convert("RGB"), size)
    left, top = crop_offsets(im.size[0], im.size[1], size, conv)
    a = np.asarray(im, dtype=np.float64)[top:top + size, left:left + size] / 255.0
    a = (a - MEAN) / STD
    return a.transpose(2, 0, 1)


# ----------------------------------------------------------------- modes

TINY = {"width": 128, "layers": 2, "heads": 2, "mlp": 256, "patch": 16, "image": 48, "proj": 32}
MICRO = {"width": 64, "layers": 2, "heads": 1, "mlp": 64, "patch": 8, "image": 16, "proj": 16}
B16 = {"width": 768, "layers": 12, "heads": 12, "mlp": 3072, "patch": 16, "image": 224, "proj": 512}
L14 = {"width": 1024, "layers": 24, "heads": 16, "mlp": 4096, "patch": 14, "image": 224, "proj": 768}


def emit(f, key, emb):
    for i, e in enumerate(emb):
        f.write("%s %d %d%s\n" % (key, i, len(e), "".join(" %.17g" % v for v in e)))


def golden_set(f, key, w, cfg, conv):
    px = np.stack([preprocess(synth_image(k), cfg["image"], conv) for k in range(2)])
    emit(f, key, vit_forward(w, cfg, px))


def mode_tiny():
    os.makedirs(DATA, exist_ok=True)
    with open(os.path.join(DATA, "golden_tiny.txt"), "w") as f:
        f.write("# tools/ref/clip_ref.py --tiny: key image dim embedding (float64 reference)\n")
        w = make_weights(TINY)
        golden_set(f, "tiny_hf_f32", w, TINY, "hf")
        golden_set(f, "tiny_hf_f16", {k: round_f16(v) for k, v in w.items()}, TINY, "hf")
        golden_set(f, "tiny_hf_bf16", {k: round_bf16(v) for k, v in w.items()}, TINY, "hf")
        golden_set(f, "tiny_hf_gelu", w, dict(TINY, act="gelu"), "hf")
        golden_set(f, "tiny_openai_f32", w, TINY, "tv")
        wm = make_weights(MICRO)
        # micro_hps.pt: mostly half storages; every third tensor float32
        o = to_openai(wm, MICRO)
        keep = {}
        for i, k in enumerate(o):
            keep[k] = i % 3 != 2
        wr = dict(wm)
        for k in wm:  # round the HF tensors that end up in half storages
            ok = {"vision_model.embeddings.class_embedding": "visual.class_embedding",
                  "vision_model.embeddings.position_embedding.weight": "visual.positional_embedding",
                  "visual_projection.weight": "visual.proj",
                  "vision_model.embeddings.patch_embedding.weight": "visual.conv1.weight",
                  "vision_model.pre_layrnorm.weight": "visual.ln_pre.weight",
                  "vision_model.pre_layrnorm.bias": "visual.ln_pre.bias",
                  "vision_model.post_layernorm.weight": "visual.ln_post.weight",
                  "vision_model.post_layernorm.bias": "visual.ln_post.bias"}.get(k)
            if ok is None:
                i = int(k.split(".")[3])
                r = "visual.transformer.resblocks.%d." % i
                tail = k.split(".", 4)[4]
                m = {"self_attn.out_proj.weight": "attn.out_proj.weight",
                     "self_attn.out_proj.bias": "attn.out_proj.bias",
                     "layer_norm1.weight": "ln_1.weight", "layer_norm1.bias": "ln_1.bias",
                     "layer_norm2.weight": "ln_2.weight", "layer_norm2.bias": "ln_2.bias",
                     "mlp.fc1.weight": "mlp.c_fc.weight", "mlp.fc1.bias": "mlp.c_fc.bias",
                     "mlp.fc2.weight": "mlp.c_proj.weight", "mlp.fc2.bias": "mlp.c_proj.bias"}
                if tail in m:
                    ok = r + m[tail]
                else:
                    ok = r + ("attn.in_proj_weight" if tail.endswith("weight") else "attn.in_proj_bias")
            if keep[ok]:
                wr[k] = round_f16(wm[k])
        golden_set(f, "micro_hps", wr, MICRO, "tv")
    save_hps_zip(wm, MICRO, os.path.join(DATA, "micro_hps.pt"), half=True)


def mode_preprocess():
    livec = os.path.join(HERE, "..", "..", "..", "shared", "data", "livec", "Images")
    names = ["10.png", "100.png", "1000.JPG", "500.bmp", "t1.png"]
    files = sorted(os.listdir(livec))
    odd = [f for f in files if not os.path.isdir(os.path.join(livec, f))
           and Image.open(os.path.join(livec, f)).size != (500, 500)]
    names = [n for n in names if os.path.exists(os.path.join(livec, n))] + odd
    sha = lambda a: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
    with open(os.path.join(DATA, "golden_preprocess.txt"), "w") as f:
        f.write("# tools/ref/clip_ref.py --preprocess (Pillow %s)\n" % Image.__version__)
        f.write("# resize: source w h target w h sha256(source RGB) sha256(resized RGB)\n")
        f.write("# crop: source conv size left top\n")
        for n in names:
            im = Image.open(os.path.join(livec, n)).convert("RGB")
            for size in (224, 96):
                r = resize_short(im, size)
                f.write("resize livec:%s %d %d %d %d %s %s\n" % (n, im.size[0], im.size[1], r.size[0],
                                                               r.size[1], sha(np.asarray(im)), sha(np.asarray(r))))
        for k in range(2):
            im = synth_image(k)
            for (tw, th) in [(48, 87), (224, 408), (17, 31), (64, 48), (100, 30), (30, 100), (7, 5)]:
                if k == 0 and (tw, th) == (48, 87):
                    continue
                r = im.resize((tw, th), Image.BICUBIC)
                f.write("resize synth:%d %d %d %d %d %s %s\n" % (k, im.size[0], im.size[1], tw, th,
                                                               sha(np.asarray(im)), sha(np.asarray(r))))
        for (w, h) in [(299, 224), (224, 409), (500, 500), (225, 225), (336, 224)]:
            for conv in ("hf", "tv"):
                l, t = crop_offsets(w, h, 224, conv)
                f.write("crop %d %d %s 224 %d %d\n" % (w, h, conv, l, t))
        # end-to-end normalised tensor of a synthetic image (float64 reference)
        for conv in ("hf", "tv"):
            a = preprocess(synth_image(1), 48, conv)
            f.write("tensor synth:1 %s 48 %s\n" % (conv, " ".join("%.17g" % v for v in a.flatten()[::97])))


def mode_full(outdir):
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(DATA, "golden_full.txt"), "w") as f:
        f.write("# tools/ref/clip_ref.py --full: key image dim embedding (float64 reference)\n")
        w = make_weights(B16)
        d = os.path.join(outdir, "clip-vit-b16")
        os.makedirs(d, exist_ok=True)
        t = dict(w)
        t["vision_model.embeddings.position_ids"] = np.arange(197, dtype=np.int64)[None]
        t["logit_scale"] = np.array(4.6052, np.float32)
        save_safetensors(t, os.path.join(d, "model.safetensors"))
        with open(os.path.join(d, "config.json"), "w") as c:
            json.dump(hf_config(B16), c, indent=2)
        golden_set(f, "full_b16_hf", w, B16, "hf")
        del w, t
        w = make_weights(L14)
        save_hps_zip(w, L14, os.path.join(outdir, "hpc.pt"), half=False, strided_proj=True)
        golden_set(f, "full_l14_hps", w, L14, "tv")


if __name__ == "__main__":
    torch.set_num_threads(2)
    if "--tiny" in sys.argv:
        mode_tiny()
    if "--preprocess" in sys.argv:
        mode_preprocess()
    if "--full" in sys.argv:
        mode_full(sys.argv[sys.argv.index("--full") + 1])
