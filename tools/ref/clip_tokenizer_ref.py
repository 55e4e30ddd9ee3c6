#!/usr/bin/python3
"""tools/ref/clip_tokenizer_ref.py - golden token ids for lmmiqa's CLIP tokenizer.

Runs OpenAI CLIP's tokenizer algorithm (clip/simple_tokenizer.py at d05afc4 and
clip.tokenize), written out here from its description, on /usr/bin/python3
with Debian's python3-regex (the regex module the original imports as `re`).
ftfy is not packaged for Debian bookworm, so basic_clean's ftfy.fix_text is
replaced by the deterministic subset lmmiqa implements (ftfy_subset below;
docs/clipiqa.md lists what is left out: mojibake repair). On every string of
the test set that subset and ftfy agree except where noted in the set.

    /usr/bin/python3 tools/ref/clip_tokenizer_ref.py [VOCAB.gz] > tests/data/text/golden_tokens.jsonl
    /usr/bin/python3 tools/ref/clip_tokenizer_ref.py --hf-tiny tests/data/text/hf_tiny [VOCAB.gz]

The second writes a small Hugging Face style vocabulary (vocab.json +
merges.txt: the first 300 merges, every id permuted) and golden.jsonl, ids
of a few strings under it, to test that loader's use of vocab.json's ids.

Output: one JSON object per line {"text", "ids" (no length limit), "ids77"
(clip.tokenize(..., truncate=True) without the zero padding)}.
"""
import gzip
import html
import json
import os
import random
import sys
import unicodedata

import regex as re

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_VOCAB = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "vocab", "clip",
                                              "bpe_simple_vocab_16e6.txt.gz"))


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


LIGATURES = {0x0132: "IJ", 0x0133: "ij", 0x0149: "\u02bcn", 0x01C4: "D\u017d", 0x01C5: "D\u017e",
             0x01C6: "d\u017e", 0x01C7: "LJ", 0x01C8: "Lj", 0x01C9: "lj", 0x01CA: "NJ",
             0x01CB: "Nj", 0x01CC: "nj", 0x01F1: "DZ", 0x01F2: "Dz", 0x01F3: "dz", 0xFB00: "ff",
             0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "\u017ft",
             0xFB06: "st"}
CONTROL = set(list(range(0, 9)) + [0x0B] + list(range(0x0E, 0x20)) + [0x7F] +
              list(range(0x206A, 0x2070)) + [0xFEFF] + list(range(0xFFF9, 0xFFFD)))


def fix_char(ch):
    c = ord(ch)
    if 0x80 <= c <= 0x9F:
        try:
            ch = bytes([c]).decode("cp1252")
        except UnicodeDecodeError:
            pass  # sloppy-windows-1252: undefined bytes stay
        c = ord(ch)
    if c in LIGATURES:
        return LIGATURES[c]
    if c == 0x3000:
        ch = " "
    elif 0xFF01 <= c <= 0xFFEF:
        n = unicodedata.normalize("NFKC", ch)
        if len(n) == 1:
            ch = n
    if ch in "\u02bc\u2018\u2019\u201a\u201b":
        ch = "'"
    elif ch in "\u201c\u201d\u201e\u201f":
        ch = '"'
    if ord(ch) in CONTROL:
        return ""
    return ch


def ftfy_subset(text):
    text = re.sub(r"\x1b\[[0-9;]*[a-zA-Z]", "", text)
    text = "".join(fix_char(ch) for ch in text)
    return unicodedata.normalize("NFC", text)


def basic_clean(text):
    text = ftfy_subset(text)
    text = html.unescape(html.unescape(text))
    return text.strip()


def whitespace_clean(text):
    text = re.sub(r"\s+", " ", text)
    return text.strip()


class Tokenizer:
    def __init__(self, path):
        self.byte_encoder = bytes_to_unicode()
        merges = gzip.open(path).read().decode("utf-8").split("\n")
        merges = merges[1:49152 - 256 - 2 + 1]
        merges = [tuple(m.split()) for m in merges]
        vocab = list(bytes_to_unicode().values())
        vocab = vocab + [v + "</w>" for v in vocab]
        for m in merges:
            vocab.append("".join(m))
        vocab.extend(["<|startoftext|>", "<|endoftext|>"])
        self.vocab = vocab
        self.merges = merges
        self.encoder = dict(zip(vocab, range(len(vocab))))
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        self.pat = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                              re.IGNORECASE)

    @classmethod
    def from_hf(cls, vocab_json, merges_txt):
        """The same algorithm over Hugging Face's vocab.json + merges.txt."""
        tok = cls.__new__(cls)
        tok.byte_encoder = bytes_to_unicode()
        with open(vocab_json, encoding="utf-8") as f:
            tok.encoder = json.load(f)
        with open(merges_txt, encoding="utf-8") as f:
            merges = f.read().strip().split("\n")[1:49152 - 256 - 2 + 1]
        tok.merges = [tuple(m.split()) for m in merges]
        tok.bpe_ranks = dict(zip(tok.merges, range(len(tok.merges))))
        tok.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        tok.pat = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                             re.IGNORECASE)
        return tok

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = set(zip(word, word[1:]))
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda p: self.bpe_ranks.get(p, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new.extend(word[i:])
                    break
                new.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new.append(first + second)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = tuple(new)
            if len(word) == 1:
                break
            pairs = set(zip(word, word[1:]))
        return " ".join(word)

    def encode(self, text):
        out = []
        text = whitespace_clean(basic_clean(text)).lower()
        for token in re.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            out.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return out

    def tokenize(self, text, context_length=None):
        sot, eot = self.encoder["<|startoftext|>"], self.encoder["<|endoftext|>"]
        ids = [sot] + self.encode(text) + [eot]
        if context_length and len(ids) > context_length:
            ids = ids[:context_length]
            ids[-1] = eot
        return ids


BASE = [
    "a photo of a cat", "Good photo.", "Bad photo.", "Bright photo.", "Dark photo.",
    "Sharp photo.", "Blurry photo.", "Noisy photo.", "Clean photo.", "Colorful photo.",
    "Dull photo.", "High contrast photo.", "Low contrast photo.", "Aesthetic photo.",
    "Not aesthetic photo.", "Happy photo.", "Sad photo.", "Natural photo.", "Synthetic photo.",
    "", " ", "   \t\n  ", "A", "a", "I", "!", "...", "?!?!", "hello world", "Hello, World!",
    "HELLO WORLD", "Don't stop", "it's", "IT'S", "we're here", "they've gone", "I'm fine",
    "we'll see", "he'd go", "it 's", "'s", "''s", "rock'n'roll", "o'clock", "can't won't shan't",
    "ma'am", "y'all'd've", "'tis", "isn’t it", "“quoted”", "‘single’", "don\u02bct",
    "1234567890", "3.14159", "1,000,000", "12th", "v2.0.1", "2024-01-31", "$100", "50%",
    "#hashtag", "@user", "user@example.com", "https://example.com/path?q=1&r=2",
    "C++ and C#", "a+b=c", "x^2 + y^2 = z^2", "(parentheses) [brackets] {braces}",
    "tab\tseparated\tvalues", "line\nbreaks\r\nhere", "multiple     spaces", "trailing space ",
    " leading space", "café", "naïve résumé", "Ångström", "São Paulo", "Zürich", "Kraków",
    "Ελληνικά", "Русский текст", "עברית", "العربية", "हिन्दी", "ไทย", "日本語のテキスト",
    "中文文本", "한국어 텍스트", "漢字かなカナ", "emoji 😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷 flag",
    "❤️ heart", "★☆", "→ ← ↑ ↓", "∑∫√∞", "©®™", "½ ¼ ¾", "²³", "Ⅻ", "①②③", "٣٤٥",
    "&amp;", "&lt;b&gt;", "&amp;amp;", "&amp;amp;amp;", "&quot;hi&quot;", "&#39;s", "&#x27;t",
    "&nbsp;space", "&copy; 2024", "&notit;", "&ampx", "&#0;", "&#128;", "&#x110000;", "&#55296;",
    "&#1;x", "&;", "&#;", "& amp;", "AT&T", "&hellip;", "fish &chips", "&NotEqualTilde;",
    "ﬁne ﬂower", "ĳs", "Ǆ", "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ", "ｶﾀｶﾅ", "１２３",
    "e\u0301", "cafe\u0301", "a\u0308o\u0308u\u0308", "\u1100\u1161\u11a8", "A\u030a",
    "\u212b", "x\u0323\u0307", "\x1b[31mred\x1b[0m", "ctrl\x07char", "nul\x00byte", "del\x7f",
    "\x85next", "\x80euro", "\ufeffbom", "zero\u200bwidth", "nb\u00a0sp", "em\u2003space",
    "ideo\u3000space", "\u2028sep", "fs\x1csep", "İstanbul", "ΣΊΣΥΦΟΣ", "ß straße", "ǅ",
    "ﬀ", "ſtop", "'ſ", "'S", "<|startoftext|>", "<|endoftext|>", "a<|endoftext|>b",
    "<|ENDOFTEXT|>", "<|ſtartoftext|>", "<|startoftext|", "<||>", "</w>", "a</w>b",
    "\u0345\u0399", "Kelvin \u212a", "ǲ", "i\u0307",
]


def generated(rng):
    out = []
    words = ["the", "photo", "quality", "image", "blurry", "sharp", "bright", "dark", "noisy",
             "clean", "colorful", "dull", "is", "very", "not", "a", "of", "with", "and", "lighting",
             "exposure", "overexposed", "underexposed", "jpeg", "artifacts", "compression",
             "beautiful", "ugly", "camera", "shake", "motion", "focus", "bokeh", "HDR", "RAW"]
    for _ in range(80):
        n = rng.randint(1, 14)
        s = " ".join(rng.choice(words) for _ in range(n))
        if rng.random() < 0.3:
            s = s.capitalize() + rng.choice([".", "!", "?", "...", ""])
        out.append(s)
    pools = [(0x20, 0x7E), (0xA0, 0x17F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF),
             (0x900, 0x97F), (0x3040, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00),
             (0x1F300, 0x1F6FF), (0x2000, 0x206F), (0x300, 0x36F), (0xFF00, 0xFFEF)]
    for _ in range(120):
        parts = []
        for _ in range(rng.randint(1, 20)):
            lo, hi = rng.choice(pools)
            c = rng.randint(lo, hi)
            parts.append(chr(c))
            if rng.random() < 0.2:
                parts.append(" ")
        out.append("".join(parts))
    long = " ".join(rng.choice(words) for _ in range(120))
    out += [long, long.upper(), "a" * 500, "ab" * 300, "x " * 200, "😀" * 50,
            "supercalifragilisticexpialidocious " * 10, "0123456789" * 20,
            "Pneumonoultramicroscopicsilicovolcanoconiosis"]
    return out


def hf_tiny(outdir, path):
    full = Tokenizer(path)
    tok = Tokenizer(path)
    merges = full.merges[:300]
    vocab = full.vocab[:512] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    perm = list(range(len(vocab)))
    random.Random(5).shuffle(perm)
    tok.encoder = {v: perm[i] for i, v in enumerate(vocab)}
    tok.bpe_ranks = dict(zip(merges, range(len(merges))))
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(tok.encoder, f, ensure_ascii=False)
    with open(os.path.join(outdir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for m in merges:
            f.write(" ".join(m) + "\n")
    with open(os.path.join(outdir, "golden.jsonl"), "w") as f:
        for s in BASE[:60] + ["the photo is in the other thing", "Ünïcödé ✓ 東京"]:
            f.write(json.dumps({"text": s, "ids": tok.tokenize(s)}, ensure_ascii=True) + "\n")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--hf-tiny":
        hf_tiny(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else DEFAULT_VOCAB)
        return
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_VOCAB
    tok = Tokenizer(path)
    rng = random.Random(13)
    for s in BASE + generated(rng):
        rec = {"text": s, "ids": tok.tokenize(s), "ids77": tok.tokenize(s, 77)}
        print(json.dumps(rec, ensure_ascii=True))


if __name__ == "__main__":
    main()
