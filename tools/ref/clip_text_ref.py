#!/usr/bin/python3
"""tools/ref/clip_text_ref.py - reference CLIP text towers and golden embeddings.

Written for /usr/bin/python3 with torch 1.13 and numpy. The text transformer
is written out here following OpenAI CLIP's encode_text and Hugging Face's
CLIPTextModelWithProjection (token + positional embedding, pre-LN blocks with
a causal mask, final LayerNorm, the hidden state at the argmax id, text
projection) and evaluated in float64.

Weights: "published layouts" (../shared/reference/checkpoints/*.tsv) filled by
the counter-based generator of tools/ref/clip_ref.py (reimplemented bit for
bit in src/models/vit_random.c) on the Hugging Face text_model.* names:
    token embedding  u * 2^-1      position embedding  u * 2^-2
    linear weight    u * 2^-round(log2(fan_in)/2)   bias u * 2^-5
    LayerNorm        1 + u * 2^-3, u * 2^-4         seed 7

Modes:
  --tiny        tests/data/text/golden_text_tiny.txt: the tiny text config
                (the C test writes its checkpoints with the same generator) in
                F32, F16 and GELU variants, plus tests/data/text/micro_text.pt,
                a small OpenAI-named torch.save zip with half storages.
  --clipiqa     tests/data/text/golden_clipiqa.txt: CLIP-IQA features (the
                default prompt pairs and tests/data/text/prompts_test.txt) of
                clip_ref.py's synthetic images, with the tiny vision tower
                (clip_ref.TINY), the tiny text tower and the hf_tiny vocabulary.
  --full DIR    full-size text towers: ViT-B/16's (HF safetensors +
                config.json, DIR/clip-b16-text/model.safetensors) and
                ViT-L/14's (HPS layout, torch.save zip, DIR/hpc-text.pt), large,
                not committed, and tests/data/text/golden_text_full.txt.
"""
import collections
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import clip_ref  # noqa: E402
import clip_tokenizer_ref  # noqa: E402

DATA = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "data", "text"))
SEED = 7

TT = {"vocab": 814, "ctx": 16, "width": 128, "layers": 2, "heads": 2, "mlp": 256, "proj": 32}
MICRO_T = {"vocab": 64, "ctx": 8, "width": 64, "layers": 1, "heads": 1, "mlp": 64, "proj": 16}
B16_T = {"vocab": 49408, "ctx": 77, "width": 512, "layers": 12, "heads": 8, "mlp": 2048,
         "proj": 512}
L14_T = {"vocab": 49408, "ctx": 77, "width": 768, "layers": 12, "heads": 12, "mlp": 3072,
         "proj": 768}


def hf_text_names(c):
    V, C, W, L, M, E = c["vocab"], c["ctx"], c["width"], c["layers"], c["mlp"], c["proj"]
    t = "text_model."
    out = [(t + "embeddings.token_embedding.weight", [V, W], "cls"),
           (t + "embeddings.position_embedding.weight", [C, W], "pos")]
    for i in range(L):
        p = t + "encoder.layers.%d." % i
        for q in ("k_proj", "v_proj", "q_proj", "out_proj"):
            out += [(p + "self_attn.%s.weight" % q, [W, W], ("w", W)),
                    (p + "self_attn.%s.bias" % q, [W], "b")]
        out += [(p + "layer_norm1.weight", [W], "lnw"), (p + "layer_norm1.bias", [W], "lnb"),
                (p + "mlp.fc1.weight", [M, W], ("w", W)), (p + "mlp.fc1.bias", [M], "b"),
                (p + "mlp.fc2.weight", [W, M], ("w", M)), (p + "mlp.fc2.bias", [W], "b"),
                (p + "layer_norm2.weight", [W], "lnw"), (p + "layer_norm2.bias", [W], "lnb")]
    out += [(t + "final_layer_norm.weight", [W], "lnw"), (t + "final_layer_norm.bias", [W], "lnb"),
            ("text_projection.weight", [E, W], ("w", W))]
    return out


def make_weights(c, seed=SEED):
    w = {}
    for name, shape, kind in hf_text_names(c):
        u = clip_ref.uniform(name, int(np.prod(shape)), seed)
        if isinstance(kind, tuple):
            x = u * clip_ref.pow2_scale(kind[1])
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


def text_forward(w, c, ids):
    """float64 forward of one id sequence; returns [E]."""
    t = {k: torch.from_numpy(v.astype(np.float64)) for k, v in w.items()}
    W, H = c["width"], c["heads"]
    d = W // H
    eps = c.get("eps", 1e-5)
    tm = "text_model."
    ids_t = torch.tensor(ids, dtype=torch.long)
    n = len(ids)
    x = t[tm + "embeddings.token_embedding.weight"][ids_t] + \
        t[tm + "embeddings.position_embedding.weight"][:n]
    mask = torch.full((n, n), float("-inf"), dtype=torch.float64).triu(1)

    def ln(x, name):
        return torch.nn.functional.layer_norm(x, (W,), t[name + ".weight"], t[name + ".bias"], eps)

    def lin(x, name):
        return x @ t[name + ".weight"].T + t[name + ".bias"]

    for i in range(c["layers"]):
        p = tm + "encoder.layers.%d." % i
        h = ln(x, p + "layer_norm1")
        q = lin(h, p + "self_attn.q_proj") * (d ** -0.5)
        k = lin(h, p + "self_attn.k_proj")
        v = lin(h, p + "self_attn.v_proj")
        q, k, v = (z.reshape(n, H, d).transpose(0, 1) for z in (q, k, v))
        a = torch.softmax(q @ k.transpose(-1, -2) + mask, -1) @ v
        x = x + lin(a.transpose(0, 1).reshape(n, W), p + "self_attn.out_proj")
        h = lin(ln(x, p + "layer_norm2"), p + "mlp.fc1")
        if c.get("act", "quick_gelu") == "quick_gelu":
            h = h * torch.sigmoid(1.702 * h)
        else:
            h = torch.nn.functional.gelu(h)
        x = x + lin(h, p + "mlp.fc2")
    x = ln(x, tm + "final_layer_norm")
    pooled = x[int(ids_t.argmax())]
    return (pooled @ t["text_projection.weight"].T).numpy()


def to_openai(w, c):
    o = collections.OrderedDict()
    tm = "text_model."
    o["token_embedding.weight"] = w[tm + "embeddings.token_embedding.weight"]
    o["positional_embedding"] = w[tm + "embeddings.position_embedding.weight"]
    for i in range(c["layers"]):
        p = tm + "encoder.layers.%d." % i
        r = "transformer.resblocks.%d." % i
        o[r + "attn.in_proj_weight"] = np.concatenate(
            [w[p + "self_attn.%s_proj.weight" % q] for q in "qkv"], 0)
        o[r + "attn.in_proj_bias"] = np.concatenate(
            [w[p + "self_attn.%s_proj.bias" % q] for q in "qkv"], 0)
        for a, b in (("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"),
                     ("layer_norm2", "ln_2"), ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")):
            o[r + b + ".weight"] = w[p + a + ".weight"]
            o[r + b + ".bias"] = w[p + a + ".bias"]
    o["ln_final.weight"] = w[tm + "final_layer_norm.weight"]
    o["ln_final.bias"] = w[tm + "final_layer_norm.bias"]
    o["text_projection"] = np.ascontiguousarray(w["text_projection.weight"].T)
    return o


def save_text_zip(w, c, path, half):
    """torch.save({'state_dict': OpenAI names}); with half, 2 of 3 tensors
    are half storages. Returns the weights as the file holds them (HF names)."""
    o = to_openai(w, c)
    sd = collections.OrderedDict()
    rounded = {}
    for i, (k, a) in enumerate(o.items()):
        t = torch.from_numpy(np.ascontiguousarray(a))
        if half and i % 3 != 2:
            t = t.half()
        if k == "text_projection":
            t = t.t().contiguous().t()  # a non-contiguous view, as saved from a Parameter.T
        sd[k] = t
        rounded[k] = t.float().numpy()
    sd["logit_scale"] = torch.tensor(4.6052)
    torch.save({"state_dict": sd, "epoch": 1}, path)
    # back to HF names for the reference forward
    back = dict(w)
    tm = "text_model."
    back[tm + "embeddings.token_embedding.weight"] = rounded["token_embedding.weight"]
    back[tm + "embeddings.position_embedding.weight"] = rounded["positional_embedding"]
    W = c["width"]
    for i in range(c["layers"]):
        p = tm + "encoder.layers.%d." % i
        r = "transformer.resblocks.%d." % i
        for j, q in enumerate("qkv"):
            back[p + "self_attn.%s_proj.weight" % q] = rounded[r + "attn.in_proj_weight"][j * W:(j + 1) * W]
            back[p + "self_attn.%s_proj.bias" % q] = rounded[r + "attn.in_proj_bias"][j * W:(j + 1) * W]
        for a, b in (("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"),
                     ("layer_norm2", "ln_2"), ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")):
            back[p + a + ".weight"] = rounded[r + b + ".weight"]
            back[p + a + ".bias"] = rounded[r + b + ".bias"]
    back[tm + "final_layer_norm.weight"] = rounded["ln_final.weight"]
    back[tm + "final_layer_norm.bias"] = rounded["ln_final.bias"]
    back["text_projection.weight"] = np.ascontiguousarray(rounded["text_projection"].T)
    return back


def tiny_ids(c):
    rng = np.random.RandomState(3)
    V, C = c["vocab"], c["ctx"]
    eot = V - 1
    seqs = [[V - 2, eot], [eot]]
    for n in (3, 7, C):
        seqs.append([V - 2] + list(rng.randint(0, V - 2, n - 2)) + [eot])
    s = [V - 2] + list(rng.randint(0, V - 2, 4)) + [eot] + [0] * 5  # padded
    seqs.append(s[:C])
    seqs.append(list(rng.randint(0, V - 2, 6)))  # no end token: argmax wherever it is
    return [[int(x) for x in q] for q in seqs]


def emit(f, key, c, w, seqs):
    for k, ids in enumerate(seqs):
        e = text_forward(w, c, ids)
        f.write("ids %s %d %d %s\n" % (key, k, len(ids), " ".join(str(i) for i in ids)))
        f.write("emb %s %d %d %s\n" % (key, k, len(e), " ".join("%.17g" % v for v in e)))


def mode_tiny():
    os.makedirs(DATA, exist_ok=True)
    with open(os.path.join(DATA, "golden_text_tiny.txt"), "w") as f:
        f.write("# tools/ref/clip_text_ref.py --tiny: ids KEY K N ids / emb KEY K DIM embedding (float64)\n")
        w = make_weights(TT)
        seqs = tiny_ids(TT)
        emit(f, "tt_f32", TT, w, seqs)
        emit(f, "tt_f16", TT, {k: clip_ref.round_f16(v) for k, v in w.items()}, seqs)
        emit(f, "tt_gelu", dict(TT, act="gelu"), w, seqs)
        wm = make_weights(MICRO_T)
        back = save_text_zip(wm, MICRO_T, os.path.join(DATA, "micro_text.pt"), half=True)
        emit(f, "micro_pt", MICRO_T, back, tiny_ids(MICRO_T))


DEFAULT_PAIRS = [("Good photo.", "Bad photo."), ("Bright photo.", "Dark photo."),
                 ("Sharp photo.", "Blurry photo."), ("Clean photo.", "Noisy photo."),
                 ("Colorful photo.", "Dull photo."), ("High contrast photo.", "Low contrast photo."),
                 ("Natural photo.", "Synthetic photo."), ("Beautiful photo.", "Ugly photo.")]


def clipiqa(img_emb, txt, pairs, scale):
    i = img_emb / np.linalg.norm(img_emb)
    out = []
    for pos, neg in pairs:
        tp, tn = (txt[p] / np.linalg.norm(txt[p]) for p in (pos, neg))
        lp, ln = scale * float(i @ tp), scale * float(i @ tn)
        m = max(lp, ln)
        out.append(np.exp(lp - m) / (np.exp(lp - m) + np.exp(ln - m)))
    return out


def mode_clipiqa():
    tok = clip_tokenizer_ref.Tokenizer.from_hf(os.path.join(DATA, "hf_tiny", "vocab.json"),
                                               os.path.join(DATA, "hf_tiny", "merges.txt"))
    filepairs = []
    with open(os.path.join(DATA, "prompts_test.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                a, b = line.split("|")
                filepairs.append((a.strip(), b.strip()))
    wt = make_weights(TT)
    wv = clip_ref.make_weights(clip_ref.TINY)
    px = np.stack([clip_ref.preprocess(clip_ref.synth_image(k), clip_ref.TINY["image"], "hf")
                   for k in range(2)])
    img = clip_ref.vit_forward(wv, clip_ref.TINY, px)
    scale = float(np.exp(np.float64(np.float32(4.6052))))
    with open(os.path.join(DATA, "golden_clipiqa.txt"), "w") as f:
        f.write("# tools/ref/clip_text_ref.py --clipiqa: KEY image N probabilities (float64)\n")
        for key, pairs, s in (("default", DEFAULT_PAIRS, scale), ("file", filepairs, scale),
                              ("scale2", DEFAULT_PAIRS, 2.0)):
            txt = {}
            for pos, neg in pairs:
                for p in (pos, neg):
                    txt[p] = text_forward(wt, TT, tok.tokenize(p, TT["ctx"]))
            for k in range(2):
                v = clipiqa(img[k], txt, pairs, s)
                f.write("%s %d %d %s\n" % (key, k, len(v), " ".join("%.17g" % x for x in v)))


def mode_full(outdir):
    tok = clip_tokenizer_ref.Tokenizer(clip_tokenizer_ref.DEFAULT_VOCAB)
    prompts = ["Good photo.", "Bad photo.", "a photo of a cat",
               " ".join(["a very long caption about image quality"] * 20)]
    seqs = [tok.tokenize(p, 77) for p in prompts]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(DATA, "golden_text_full.txt"), "w") as f:
        f.write("# tools/ref/clip_text_ref.py --full: ids / emb lines (float64 reference)\n")
        w = make_weights(B16_T)
        d = os.path.join(outdir, "clip-b16-text")
        os.makedirs(d, exist_ok=True)
        t = dict(w)
        t["text_model.embeddings.position_ids"] = np.arange(77, dtype=np.int64)[None]
        t["logit_scale"] = np.array(4.6052, np.float32)
        clip_ref.save_safetensors(t, os.path.join(d, "model.safetensors"))
        import json
        with open(os.path.join(d, "config.json"), "w") as cf:
            json.dump({"model_type": "clip", "projection_dim": 512,
                       "text_config": {"hidden_size": 512, "num_hidden_layers": 12,
                                       "num_attention_heads": 8, "intermediate_size": 2048,
                                       "max_position_embeddings": 77, "vocab_size": 49408,
                                       "hidden_act": "quick_gelu"}}, cf, indent=2)
        emit(f, "full_b16_hf", B16_T, w, seqs)
        del w, t
        w = make_weights(L14_T)
        back = save_text_zip(w, L14_T, os.path.join(outdir, "hpc-text.pt"), half=False)
        emit(f, "full_l14_openai", L14_T, back, seqs)


if __name__ == "__main__":
    torch.set_num_threads(2)
    if "--tiny" in sys.argv:
        mode_tiny()
    if "--clipiqa" in sys.argv:
        mode_clipiqa()
    if "--full" in sys.argv:
        mode_full(sys.argv[sys.argv.index("--full") + 1])
