#!/usr/bin/python3
"""Reference for lmmiqa's ALIGN image tower (EfficientNet-B7, HF kakaobrain/align-base).

Run with Debian's /usr/bin/python3 (torch 1.13, numpy, Pillow); transformers is
not needed: the modules below follow Hugging Face's modeling_align.py
(AlignVisionEmbeddings, AlignVisionBlock, AlignVisionEncoder, AlignVisionModel)
layer for layer, and the preprocessing follows EfficientNetImageProcessor with
kakaobrain/align-base's preprocessor_config.json.

Weights are generated, not downloaded: every tensor is filled from its name by
the generator that src/models/vit_random.c and tools/ref/clip_ref.py share
(fnv1a64(name) ^ seed * golden, splitmix64, u in [-1, 1)), scaled per kind
(see make_weights); src/models/align_random.c writes the same numbers.

Modes:
  --tiny            tests/data/align/golden_tiny.txt: a reduced configuration
                    (TINY) on two generated pixel tensors, F32 and F16 weights
  --micro           tests/data/align/micro_align.bin (+ micro_config.json,
                    golden_micro.txt): a 7-block model as a torch.save zip
  --preprocess      tests/data/align/golden_preprocess.txt: SHA-256 of the
                    Pillow resize and crop for synthetic and LIVE-C images
  --full DIR        DIR/align-b7/{model.safetensors,config.json} (B7, about
                    260 MB, not committed) and tests/data/align/golden_b7.txt:
                    two synthetic images through preprocessing + B7
  --bench DIR       time PyTorch on DIR/align-b7 (float32, channels_last,
                    2 threads) at batch 1 and 8; prints "torch batch N img/s X"
Golden outputs are computed in float64.
"""
import collections
import hashlib
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "tests", "data", "align")
GOLDEN_SEED = 11
M64 = (1 << 64) - 1
RESIZE, CROP = 346, 289
RESCALE = 0.00784313725490196  # preprocessor_config.json rescale_factor (1 / 127.5)

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


# ----------------------------------------------------------------- configuration

B7 = {  # AlignVisionConfig defaults + convert_align_tf_to_hf.get_align_config
    "width_coefficient": 2.0, "depth_coefficient": 3.1, "depth_divisor": 8,
    "kernel_sizes": [3, 3, 5, 3, 5, 5, 3], "in_channels": [32, 16, 24, 40, 80, 112, 192],
    "out_channels": [16, 24, 40, 80, 112, 192, 320], "strides": [1, 2, 2, 2, 1, 2, 1],
    "num_block_repeats": [1, 2, 2, 3, 3, 4, 1], "expand_ratios": [1, 6, 6, 6, 6, 6, 6],
    "depthwise_padding": [], "squeeze_expansion_ratio": 0.25, "batch_norm_eps": 1e-3,
    "image_size": 289, "hidden_dim": 640, "hidden_act": "swish", "pooling_type": "mean",
    "num_channels": 3,
}
TINY = dict(B7, width_coefficient=0.5, depth_coefficient=0.5,
            in_channels=[32, 16, 16, 32, 32, 48, 48], out_channels=[16, 16, 32, 32, 48, 48, 64],
            depthwise_padding=[2], image_size=33, hidden_dim=32)
MICRO = dict(B7, width_coefficient=0.25, depth_coefficient=0.25,
             in_channels=[32, 32, 32, 32, 32, 64, 64], out_channels=[32, 32, 32, 32, 64, 64, 64],
             expand_ratios=[1, 2, 2, 2, 2, 2, 2], image_size=33, hidden_dim=16)
TINY_INPUTS = [(69, 77), (45, 38)]  # (height, width) of the generated pixel tensors
B7_IMAGES = [(0, 500, 375), (4, 300, 500)]  # (synth_image k, width, height)


def round_filters(cfg, c):
    d = cfg["depth_divisor"]
    c = c * cfg["width_coefficient"]
    new = max(d, int(c + d / 2) // d * d)
    if new < 0.9 * c:
        new += d
    return int(new)


def plan(cfg):
    """Blocks as AlignVisionEncoder builds them."""
    blocks, cur = [], 0
    for i in range(len(cfg["in_channels"])):
        in_dim = round_filters(cfg, cfg["in_channels"][i])
        out_dim = round_filters(cfg, cfg["out_channels"][i])
        for j in range(int(math.ceil(cfg["depth_coefficient"] * cfg["num_block_repeats"][i]))):
            b = dict(in_dim=out_dim if j > 0 else in_dim, out_dim=out_dim,
                     stride=1 if j > 0 else cfg["strides"][i], kernel=cfg["kernel_sizes"][i],
                     ratio=cfg["expand_ratios"][i], id_skip=j == 0,
                     adjust=cur not in cfg["depthwise_padding"])
            b["expand_dim"] = b["in_dim"] * b["ratio"]
            b["se_dim"] = max(1, int(b["in_dim"] * cfg["squeeze_expansion_ratio"]))
            blocks.append(b)
            cur += 1
    return blocks


def tensor_specs(cfg):
    """(name, shape, kind) in the published order; kinds: conv, bias, bn_w, bn_b, bn_m, bn_v."""
    out = []
    stem = round_filters(cfg, 32)

    def bn(p, c):
        for part, kind in (("weight", "bn_w"), ("bias", "bn_b"), ("running_mean", "bn_m"),
                           ("running_var", "bn_v")):
            out.append((p + "." + part, (c,), kind))
        out.append((p + ".num_batches_tracked", (), "count"))

    out.append(("vision_model.embeddings.convolution.weight", (stem, 3, 3, 3), "conv"))
    bn("vision_model.embeddings.batchnorm", stem)
    for i, b in enumerate(plan(cfg)):
        p = "vision_model.encoder.blocks.%d." % i
        ce, k = b["expand_dim"], b["kernel"]
        if b["ratio"] != 1:
            out.append((p + "expansion.expand_conv.weight", (ce, b["in_dim"], 1, 1), "conv"))
            bn(p + "expansion.expand_bn", ce)
        out.append((p + "depthwise_conv.depthwise_conv.weight", (ce, 1, k, k), "conv"))
        bn(p + "depthwise_conv.depthwise_norm", ce)
        out.append((p + "squeeze_excite.reduce.weight", (b["se_dim"], ce, 1, 1), "conv"))
        out.append((p + "squeeze_excite.reduce.bias", (b["se_dim"],), "bias"))
        out.append((p + "squeeze_excite.expand.weight", (ce, b["se_dim"], 1, 1), "conv"))
        out.append((p + "squeeze_excite.expand.bias", (ce,), "bias"))
        out.append((p + "projection.project_conv.weight", (b["out_dim"], ce, 1, 1), "conv"))
        bn(p + "projection.project_bn", b["out_dim"])
    return out


def make_weights(cfg, seed=GOLDEN_SEED):
    """Generated weights (float32; num_batches_tracked int64 zeros).

    conv weight u * f32(sqrt(6 / fan_in)) (He init: swish passes about half
    the variance); conv bias 0.125 u; BN weight 1 + 0.25 u, except the
    projection BN: 1.25 + 0.3125 u in the first block of a stage (no
    residual), 0.55 + 0.1375 u in residual blocks (the residual stream then
    neither vanishes nor explodes over 55 blocks, and the embedding depends
    on the image: two different images give embeddings that differ by about
    30 %); BN bias 0.125 u; running mean 0.125 u; running var 1 + 0.5 u.
    """
    residual = set("vision_model.encoder.blocks.%d.projection.project_bn.weight" % i
                   for i, b in enumerate(plan(cfg)) if b["stride"] == 1 and not b["id_skip"])
    w = collections.OrderedDict()
    for name, shape, kind in tensor_specs(cfg):
        if kind == "count":
            w[name] = np.zeros((), np.int64)
            continue
        n = int(np.prod(shape))
        u = uniform(name, n, seed)
        if kind == "conv":
            fan = int(np.prod(shape[1:]))
            a = u * np.float32(math.sqrt(6.0 / fan))
        elif kind == "bn_w":
            if name in residual:
                a = np.float32(0.55) + np.float32(0.1375) * u
            elif ".project_bn." in name:
                a = np.float32(1.25) + np.float32(0.3125) * u
            else:
                a = np.float32(1.0) + np.float32(0.25) * u
        elif kind == "bn_v":
            a = np.float32(1.0) + np.float32(0.5) * u
        else:  # bias, bn_b, bn_m
            a = np.float32(0.125) * u
        w[name] = a.astype(np.float32).reshape(shape)
    return w


def round_f16(a):
    return a.astype(np.float16).astype(np.float32) if a.dtype == np.float32 else a


# ----------------------------------------------------------------- model (HF modeling_align.py)


class Stem(nn.Module):
    def __init__(self, cfg, out_dim):
        super().__init__()
        self.padding = nn.ZeroPad2d((0, 1, 0, 1))
        self.convolution = nn.Conv2d(3, out_dim, 3, stride=2, padding="valid", bias=False)
        self.batchnorm = nn.BatchNorm2d(out_dim, eps=cfg["batch_norm_eps"])
        self.activation = nn.SiLU()

    def forward(self, x):
        return self.activation(self.batchnorm(self.convolution(self.padding(x))))


class Expansion(nn.Module):
    def __init__(self, cfg, i, o):
        super().__init__()
        self.expand_conv = nn.Conv2d(i, o, 1, padding="same", bias=False)
        self.expand_bn = nn.BatchNorm2d(o, eps=cfg["batch_norm_eps"])
        self.expand_act = nn.SiLU()

    def forward(self, x):
        return self.expand_act(self.expand_bn(self.expand_conv(x)))


class Depthwise(nn.Module):
    def __init__(self, cfg, c, stride, k, adjust):
        super().__init__()
        self.stride = stride
        kk = k // 2
        pad = (kk - 1, kk, kk - 1, kk) if adjust else (kk, kk, kk, kk)  # correct_pad
        self.depthwise_conv_pad = nn.ZeroPad2d(pad)
        self.depthwise_conv = nn.Conv2d(c, c, k, stride=stride, groups=c, bias=False,
                                        padding="valid" if stride == 2 else "same")
        self.depthwise_norm = nn.BatchNorm2d(c, eps=cfg["batch_norm_eps"])
        self.depthwise_act = nn.SiLU()

    def forward(self, x):
        if self.stride == 2:
            x = self.depthwise_conv_pad(x)
        return self.depthwise_act(self.depthwise_norm(self.depthwise_conv(x)))


class SqueezeExcite(nn.Module):
    def __init__(self, c, se):
        super().__init__()
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(c, se, 1, padding="same")
        self.expand = nn.Conv2d(se, c, 1, padding="same")
        self.act_reduce = nn.SiLU()
        self.act_expand = nn.Sigmoid()

    def forward(self, x):
        s = self.act_expand(self.expand(self.act_reduce(self.reduce(self.squeeze(x)))))
        return x * s


class Projection(nn.Module):
    def __init__(self, cfg, i, o, residual):
        super().__init__()
        self.residual = residual
        self.project_conv = nn.Conv2d(i, o, 1, padding="same", bias=False)
        self.project_bn = nn.BatchNorm2d(o, eps=cfg["batch_norm_eps"])

    def forward(self, emb, x):
        x = self.project_bn(self.project_conv(x))
        return x + emb if self.residual else x


class Block(nn.Module):
    def __init__(self, cfg, b):
        super().__init__()
        self.expand = b["ratio"] != 1
        if self.expand:
            self.expansion = Expansion(cfg, b["in_dim"], b["expand_dim"])
        self.depthwise_conv = Depthwise(cfg, b["expand_dim"], b["stride"], b["kernel"], b["adjust"])
        self.squeeze_excite = SqueezeExcite(b["expand_dim"], b["se_dim"])
        self.projection = Projection(cfg, b["expand_dim"], b["out_dim"],
                                     b["stride"] == 1 and not b["id_skip"])

    def forward(self, x):
        emb = x
        if self.expand:
            x = self.expansion(x)
        x = self.squeeze_excite(self.depthwise_conv(x))
        return self.projection(emb, x)


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.blocks = nn.ModuleList([Block(cfg, b) for b in plan(cfg)])

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


class VisionModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = Stem(cfg, round_filters(cfg, 32))
        self.encoder = Encoder(cfg)
        self.pooler = nn.AvgPool2d(cfg["hidden_dim"], ceil_mode=True)

    def forward(self, x):
        h = self.encoder(self.embeddings(x))
        p = self.pooler(h)
        return p.reshape(p.shape[:2])


class Align(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.vision_model = VisionModel(cfg)


def build(cfg, w, dtype=torch.float64):
    m = Align(cfg)
    sd = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in w.items()}
    missing, unexpected = m.load_state_dict(sd, strict=True), None
    del missing, unexpected
    return m.to(dtype).eval()


def forward(cfg, w, pixels):
    m = build(cfg, w)
    with torch.no_grad():
        return m.vision_model(torch.from_numpy(pixels).to(torch.float64)).numpy()


# ----------------------------------------------------------------- files


def save_safetensors(tensors, path, metadata=None):
    dts = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int64): "I64"}
    size = {"F32": 4, "F16": 2, "I64": 8}
    order = sorted(tensors.items(), key=lambda kv: (-size[dts[kv[1].dtype]], kv[0]))
    header = {"__metadata__": metadata or {"format": "pt"}}
    blobs, off = [], 0
    for name, a in order:
        raw = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dts[a.dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dts = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    out = collections.OrderedDict()
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dts[t["dtype"]]).reshape(t["shape"]).copy()
    return out


def hf_config_json(cfg):
    vc = dict(cfg, model_type="align_vision_model")
    return {"model_type": "align", "projection_dim": 640, "vision_config": vc,
            "text_config": {"hidden_size": 768}}


# ----------------------------------------------------------------- images


def synth_image(k, w, h):
    """Deterministic RGB test images (also generated by the C tests)."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    for c in range(3):
        img[..., c] = (x * (29 + 6 * k) + y * (13 + 4 * c) + c * 71 + (x * y) % (19 + k)) % 256
    return Image.fromarray(img, "RGB")


def resize_crop(im):
    """EfficientNetImageProcessor: resize (346, 346) BILINEAR, center crop 289."""
    r = im.convert("RGB").resize((RESIZE, RESIZE), Image.BILINEAR)
    top = (RESIZE - CROP) // 2
    left = (RESIZE - CROP) // 2
    return r, np.asarray(r)[top:top + CROP, left:left + CROP]


def preprocess(im):
    _, a = resize_crop(im)
    a = ((a.astype(np.float64) - 127.5) * RESCALE).astype(np.float32)  # rescale with offset
    return a.transpose(2, 0, 1)


def tiny_pixels(i, h, w):
    return uniform("align_input_%d" % i, 3 * h * w, GOLDEN_SEED).reshape(3, h, w)


# ----------------------------------------------------------------- modes


def emit(f, key, emb):
    for i, e in enumerate(emb):
        f.write("%s %d %d%s\n" % (key, i, len(e), "".join(" %.17g" % v for v in e)))


def mode_tiny():
    os.makedirs(DATA, exist_ok=True)
    w = make_weights(TINY)
    with open(os.path.join(DATA, "golden_tiny.txt"), "w") as f:
        f.write("# tools/ref/align_ref.py --tiny: key image height width dim embedding "
                "(float64 reference, seed %d)\n" % GOLDEN_SEED)
        for key, ww in (("tiny_f32", w), ("tiny_f16", {k: round_f16(v) for k, v in w.items()})):
            for i, (h, wd) in enumerate(TINY_INPUTS):
                e = forward(TINY, ww, tiny_pixels(i, h, wd)[None])[0]
                f.write("%s %d %d %d %d%s\n" % (key, i, h, wd, len(e),
                                                "".join(" %.17g" % v for v in e)))


def mode_micro():
    """tests/data/align/micro_align.bin: a torch.save zip of a 7-block model
    (width 0.25, depth 0.25, expansion 2), half storages for two thirds of
    the tensors, some Parameters, nested under 'state_dict'; its config and
    golden output."""
    w = make_weights(MICRO)
    sd = collections.OrderedDict()
    used = {}
    for i, (k, a) in enumerate(w.items()):
        t = torch.from_numpy(np.ascontiguousarray(a))
        if a.dtype == np.float32 and i % 3 != 2:
            t = t.half()
        used[k] = t.float().numpy() if a.dtype == np.float32 else a
        if i % 2 == 0 and a.dtype == np.float32:
            t = torch.nn.Parameter(t, requires_grad=False)
        sd[k] = t
    sd["text_projection.weight"] = torch.zeros(2, 4)
    torch.save({"state_dict": sd, "note": "lmmiqa align test"}, os.path.join(DATA, "micro_align.bin"))
    with open(os.path.join(DATA, "micro_config.json"), "w") as c:
        json.dump(hf_config_json(MICRO), c, indent=1)
    h, wd = 41, 36
    e = forward(MICRO, used, tiny_pixels(0, h, wd)[None])[0]
    with open(os.path.join(DATA, "golden_micro.txt"), "w") as f:
        f.write("# tools/ref/align_ref.py --micro: key image height width dim embedding\n")
        f.write("micro 0 %d %d %d%s\n" % (h, wd, len(e), "".join(" %.17g" % v for v in e)))


def mode_preprocess():
    livec = os.path.join(HERE, "..", "..", "..", "shared", "data", "livec", "Images")
    sha = lambda a: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
    with open(os.path.join(DATA, "golden_preprocess.txt"), "w") as f:
        f.write("# tools/ref/align_ref.py --preprocess (Pillow %s)\n" % Image.__version__)
        f.write("# resize: source w h target w h sha256(source RGB) sha256(bilinear RGB)\n")
        f.write("# crop: source sha256(289x289 crop of the 346x346 resize) then 12 values of "
                "the tensor (plane-major, every 20887th)\n")
        for k, (w, h) in enumerate([(500, 375), (64, 48), (346, 346), (1024, 700), (300, 500)]):
            im = synth_image(k, w, h)
            src = np.asarray(im)
            for (tw, th) in [(346, 346), (17, 31), (100, 30), (600, 411), (7, 5)]:
                r = im.resize((tw, th), Image.BILINEAR)
                f.write("resize synth:%d %d %d %d %d %s %s\n" % (k, w, h, tw, th, sha(src),
                                                               sha(np.asarray(r))))
            _, c = resize_crop(im)
            t = preprocess(im).flatten()[::20887]
            f.write("crop synth:%d %d %d %s%s\n" % (k, w, h, sha(c),
                                                  "".join(" %.9g" % v for v in t)))
        if os.path.isdir(livec):
            for n in ["10.png", "100.png", "1000.JPG", "500.bmp"]:
                p = os.path.join(livec, n)
                if not os.path.exists(p):
                    continue
                im = Image.open(p).convert("RGB")
                _, c = resize_crop(im)
                f.write("crop livec:%s %d %d %s\n" % (n, im.size[0], im.size[1], sha(c)))


def b7_dir(outdir):
    return os.path.join(outdir, "align-b7")


def mode_full(outdir):
    d = b7_dir(outdir)
    os.makedirs(d, exist_ok=True)
    w = make_weights(B7)
    t = collections.OrderedDict(w)
    t["text_projection.weight"] = np.zeros((640, 8), np.float32)  # text tower stub
    t["text_projection.bias"] = np.zeros((640,), np.float32)
    t["temperature"] = np.array(1.0, np.float32)
    save_safetensors(t, os.path.join(d, "model.safetensors"))
    with open(os.path.join(d, "config.json"), "w") as c:
        json.dump(hf_config_json(B7), c, indent=2)
    px = np.stack([preprocess(synth_image(k, w_, h_)) for k, w_, h_ in B7_IMAGES])
    emb = forward(B7, w, px)
    with open(os.path.join(DATA, "golden_b7.txt"), "w") as f:
        f.write("# tools/ref/align_ref.py --full: B7 (seed %d) on synth images 0 (500x375) and "
                "1 (300x500, k=4) after ALIGN preprocessing; float64 reference\n" % GOLDEN_SEED)
        for i, e in enumerate(emb):
            f.write("b7 %d %d%s\n" % (i, len(e), "".join(" %.9g" % v for v in e)))
    print("wrote", d, "and golden_b7.txt")


def mode_bench(outdir, batches=(1, 8), reps=3):
    torch.set_num_threads(2)
    w = load_safetensors(os.path.join(b7_dir(outdir), "model.safetensors"))
    w = {k: v for k, v in w.items() if k.startswith("vision_model.")}
    for name, _, kind in tensor_specs(B7):  # files written by align_random.c lack these
        if kind == "count" and name not in w:
            w[name] = np.zeros((), np.int64)
    m = build(B7, w, torch.float32).to(memory_format=torch.channels_last)
    for b in batches:
        x = torch.from_numpy(uniform("bench", b * 3 * CROP * CROP, 1).reshape(b, 3, CROP, CROP))
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            m.vision_model(x)  # warm-up
            best = 1e9
            for _ in range(reps):
                t0 = time.perf_counter()
                m.vision_model(x)
                best = min(best, time.perf_counter() - t0)
        print("torch batch %d img/s %.3f" % (b, b / best), flush=True)
    bench_torchvision(batches, reps)


def bench_torchvision(batches, reps):
    """torchvision's own efficientnet_b7 (width 2.0, depth 3.1, as ALIGN's
    tower) at the same 289 x 289 input: features + average pooling, the part
    ALIGN's image embedding is; random weights (speed only). Skipped when
    torchvision is not installed."""
    try:
        import torchvision
    except ImportError:
        return
    net = torchvision.models.efficientnet_b7(weights=None).eval()
    body = torch.nn.Sequential(net.features, net.avgpool).to(memory_format=torch.channels_last)
    for b in batches:
        x = torch.from_numpy(uniform("bench", b * 3 * CROP * CROP, 1).reshape(b, 3, CROP, CROP))
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            body(x)
            best = 1e9
            for _ in range(reps):
                t0 = time.perf_counter()
                body(x)
                best = min(best, time.perf_counter() - t0)
        print("torchvision batch %d img/s %.3f" % (b, b / best), flush=True)


def main(argv):
    if "--tiny" in argv:
        mode_tiny()
    if "--preprocess" in argv:
        mode_preprocess()
    if "--micro" in argv:
        mode_micro()
    if "--full" in argv:
        mode_full(argv[argv.index("--full") + 1])
    if "--bench" in argv:
        i = argv.index("--bench")
        bs = tuple(int(v) for v in argv[i + 2].split(",")) if len(argv) > i + 2 else (1, 8)
        mode_bench(argv[i + 1], bs)
    if len(argv) < 2:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
