#!/usr/bin/python3
"""tools/ref/brisque_ref.py - independent NumPy/SciPy port of the original
MATLAB BRISQUE release (brisque_feature.m, estimateggdparam.m,
estimateaggdparam.m) and of MATLAB imresize(I, scale) (bicubic, antialiased),
used to produce the golden files under tests/data/brisque/.

Run with Debian's python (NumPy, SciPy, Pillow):
    /usr/bin/python3 tools/ref/brisque_ref.py            # rewrite golden files
    /usr/bin/python3 tools/ref/brisque_ref.py IMAGE...   # print features

It follows the MATLAB code literally (scipy.ndimage.correlate with zero
padding for filter2(..., 'same'), np.roll for circshift, scipy.special.gamma,
first-index argmin), with one documented convention (docs/brisque.md,
"exact zeros"): I - mu is evaluated per weight class of the window as
sum_c w_c (n_c I - sum of the class's pixels), which is exactly 0 where its
true value is 0 (flat or symmetric neighbourhoods), instead of MATLAB's
rounding noise, whose sign would decide which side of the AGGD fit the
resulting zero products fall on. imresize is written here from
MATLAB's algorithm description (no PIL/OpenCV resize), with each output the
tap-by-tap sum in tap order.

Images are decoded with Pillow and converted to grey as MATLAB rgb2gray does
for uint8 (0.298936021293775 R + 0.587043074451121 G + 0.114020904255103 B in
double, rounded half away from zero).
"""
import os
import sys

import numpy as np
import scipy.ndimage
import scipy.special
from PIL import Image

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHARED = os.path.normpath(os.path.join(REPO, "..", "shared"))
DATA = os.path.join(REPO, "tests", "data", "brisque")


# ---- MATLAB building blocks ------------------------------------------------

def matlab_colon(a, d, b):
    """a:d:b as MATLAB builds it: symmetric from both ends, middle (a+b)/2."""
    n = int(round((b - a) / d))
    k = np.arange(n + 1)
    out = np.empty(n + 1)
    lo = 2 * k < n
    hi = 2 * k > n
    out[lo] = a + k[lo].astype(float) * d
    out[hi] = b - (n - k[hi]).astype(float) * d
    if n % 2 == 0:
        out[n // 2] = (a + b) / 2.0
    return out


def rgb2gray(rgb):
    rgb = rgb.astype(np.float64)
    g = 0.298936021293775 * rgb[..., 0] + 0.587043074451121 * rgb[..., 1] \
        + 0.114020904255103 * rgb[..., 2]
    f = np.floor(g)
    g = f + (g - f >= 0.5)
    return np.clip(g, 0, 255).astype(np.uint8)


def load_gray(path):
    im = Image.open(path)
    if im.mode == "L":
        return np.asarray(im, dtype=np.uint8)
    return rgb2gray(np.asarray(im.convert("RGB")))


def cubic(x):
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + \
        (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((1 < ax) & (ax <= 2))


def contributions(in_len, out_len, scale):
    if scale < 1:
        def h(x):
            return scale * cubic(scale * x)
        kw = 4.0 / scale
    else:
        h = cubic
        kw = 4.0
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kw / 2)
    p = int(np.ceil(kw)) + 2
    ind = left[:, None] + np.arange(p, dtype=np.float64)[None, :]
    w = h(u[:, None] - ind)
    s = w[:, 0].copy()
    for k in range(1, p):
        s = s + w[:, k]
    w = w / s[:, None]
    aux = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    ind = aux[np.mod(ind.astype(np.int64) - 1, 2 * in_len)]
    keep = np.any(w != 0, axis=0)
    return w[:, keep], ind[:, keep]


def resize_along(a, axis, out_len, scale):
    w, ind = contributions(a.shape[axis], out_len, scale)
    a = np.moveaxis(a, axis, 0)
    acc = w[:, 0, None] * a[ind[:, 0], :]
    for k in range(1, w.shape[1]):
        acc = acc + w[:, k, None] * a[ind[:, k], :]
    return np.moveaxis(acc, 0, axis)


def imresize(a, scale):
    """MATLAB imresize(a, scale) for a 2-D double array (bicubic, antialias)."""
    out = [int(np.ceil(scale * n)) for n in a.shape]
    # sort(scale): equal scales keep dimension order, rows (dim 1) first
    for axis in (0, 1):
        a = resize_along(a, axis, out[axis], scale)
    return a


# ---- brisque_feature.m ------------------------------------------------------

GAM = matlab_colon(0.2, 0.001, 10.0)
G1, G2, G3 = scipy.special.gamma(1 / GAM), scipy.special.gamma(2 / GAM), scipy.special.gamma(3 / GAM)
R_GGD = (G1 * G3) / (G2 ** 2)
R_AGGD = (G2 ** 2) / (G1 * G3)


def fspecial_gaussian(size, sd):
    s = (size - 1) / 2
    y, x = np.mgrid[-s:s + 1, -s:s + 1]
    h = np.exp(-(x * x + y * y) / (2 * sd * sd))
    h[h < np.finfo(float).eps * h.max()] = 0
    return h / h.sum()


class Undefined(Exception):
    pass


def estimateggdparam(vec):
    sigma_sq = np.mean(vec ** 2)
    sigma = np.sqrt(sigma_sq)
    e = np.mean(np.abs(vec))
    if not e > 0:
        raise Undefined("all MSCN coefficients are zero")
    rho = sigma_sq / e ** 2
    return GAM[np.argmin(np.abs(rho - R_GGD))], sigma, rho


def estimateaggdparam(vec):
    neg, pos = vec[vec < 0], vec[vec > 0]
    if neg.size == 0 or pos.size == 0:
        raise Undefined("no products of one sign")
    leftstd = np.sqrt(np.mean(neg ** 2))
    rightstd = np.sqrt(np.mean(pos ** 2))
    gammahat = leftstd / rightstd
    rhat = np.mean(np.abs(vec)) ** 2 / np.mean(vec ** 2)
    rhatnorm = (rhat * (gammahat ** 3 + 1) * (gammahat + 1)) / ((gammahat ** 2 + 1) ** 2)
    alpha = GAM[np.argmin((R_AGGD - rhatnorm) ** 2)]
    return alpha, leftstd, rightstd, rhatnorm


CLASSES = [(0, 1, 4), (0, 2, 4), (0, 3, 4), (1, 1, 4), (1, 2, 8), (1, 3, 8), (2, 2, 4),
           (2, 3, 8), (3, 3, 4)]


def mscn(imdist, window):
    mu = scipy.ndimage.correlate(imdist, window, mode="constant", cval=0.0)
    sigma = np.sqrt(np.abs(scipy.ndimage.correlate(imdist * imdist, window, mode="constant",
                                                   cval=0.0) - mu * mu))
    # I - mu = sum over the 9 weight classes {|dy|,|dx|} = {a,b} of
    # w_ab * (n I - sum of the class's pixels), the pixel sums taken in a
    # fixed pair order: exact on integers, so exactly 0 where the true value is.
    h, w = imdist.shape
    p = np.pad(imdist, 3)

    def px(dy, dx):
        return p[3 + dy:3 + dy + h, 3 + dx:3 + dx + w]

    def a_(dy, k):
        return px(dy, k) + px(dy, -k)

    d = np.zeros_like(imdist)
    for a, b, n in CLASSES:
        if a == 0:
            si = a_(0, b) + (px(b, 0) + px(-b, 0))
        elif a == b:
            si = a_(a, a) + a_(-a, a)
        else:
            si = (a_(a, b) + a_(-a, b)) + (a_(b, a) + a_(-b, a))
        d = d + window[3 + a, 3 + b] * (n * imdist - si)
    return d / (sigma + 1)


def brisque_feature(imdist):
    """36 features and the 10 fitted statistics (rho, 4 x rhatnorm per scale)."""
    window = fspecial_gaussian(7, 7 / 6)
    window = window / window.sum()
    feat, fits = [], []
    for _ in range(2):
        structdis = mscn(imdist, window)
        alpha, overallstd, rho = estimateggdparam(structdis.flatten("F"))
        feat += [alpha, overallstd ** 2]
        fits.append(rho)
        for shift in [(0, 1), (1, 0), (1, 1), (-1, 1)]:
            shifted = np.roll(structdis, shift, axis=(0, 1))
            pair = structdis.flatten("F") * shifted.flatten("F")
            alpha, leftstd, rightstd, rhatnorm = estimateaggdparam(pair)
            const = np.sqrt(scipy.special.gamma(1 / alpha)) / np.sqrt(scipy.special.gamma(3 / alpha))
            meanparam = (rightstd - leftstd) * (scipy.special.gamma(2 / alpha) /
                                                scipy.special.gamma(1 / alpha)) * const
            feat += [alpha, meanparam, leftstd ** 2, rightstd ** 2]
            fits.append(rhatnorm)
        imdist = imresize(imdist, 0.5)
    return feat, fits


# ---- golden files -----------------------------------------------------------

def make_synthetic():
    """The small committed test images (seeded)."""
    rng = np.random.default_rng(20240531)
    out = {}
    # 37 wide x 53 high grey: noise on a gradient, flat blocks at 0, 128, 255
    h, w = 53, 37
    yy, xx = np.mgrid[0:h, 0:w]
    g = 60 + 2.0 * xx + 1.5 * yy + rng.normal(0, 18, (h, w))
    g = np.clip(np.round(g), 0, 255).astype(np.uint8)
    g[5:17, 4:16] = 255
    g[30:42, 20:33] = 128
    g[44:53, 0:10] = 0
    out["synth_gray_37x53.png"] = Image.fromarray(g, "L")
    # 61 x 45 RGB colour noise with a saturated corner block
    h, w = 45, 61
    c = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    c[0:12, 0:14] = 255
    out["synth_rgb_61x45.png"] = Image.fromarray(c, "RGB")
    # 128 x 97 RGB: smooth blobs plus noise; a flat white band touching the top
    h, w = 97, 128
    base = scipy.ndimage.gaussian_filter(rng.normal(0, 1, (h, w, 3)), (4, 4, 0))
    base = 128 + 400 * base + rng.normal(0, 6, (h, w, 3))
    c = np.clip(np.round(base), 0, 255).astype(np.uint8)
    c[0:14, 30:90] = 255
    out["synth_rgb_128x97.png"] = Image.fromarray(c, "RGB")
    return out


LIVE = ["10.png", "221.png", "1000.JPG", "582.JPG", "762.JPG"]
MODEL = ["testimage1.bmp", "testimage2.bmp"]


def fmt(v):
    return repr(float(v))


def main(argv):
    if argv:
        for path in argv:
            feat, fits = brisque_feature(load_gray(path).astype(np.float64))
            print(path, " ".join(fmt(v) for v in feat))
        return 0
    os.makedirs(DATA, exist_ok=True)
    entries = []
    for name, im in make_synthetic().items():
        im.save(os.path.join(DATA, name))
        entries.append(("data:" + name, os.path.join(DATA, name)))
    for name in MODEL:
        entries.append(("shared:models/brisque-live/" + name,
                        os.path.join(SHARED, "models", "brisque-live", name)))
    for name in LIVE:
        entries.append(("shared:data/livec/Images/" + name,
                        os.path.join(SHARED, "data", "livec", "Images", name)))
    lines = ["# BRISQUE golden features from tools/ref/brisque_ref.py (NumPy/SciPy port of the",
             "# MATLAB release). One image per line: location, width, height, the 36 features,",
             "# then the 10 fitted statistics (per scale: GGD rho, AGGD rhatnorm h/v/d1/d2).",
             "# data:NAME = tests/data/brisque/NAME; shared:PATH = ../shared/PATH."]
    for loc, path in entries:
        gray = load_gray(path)
        feat, fits = brisque_feature(gray.astype(np.float64))
        lines.append(" ".join([loc, str(gray.shape[1]), str(gray.shape[0])] +
                              [fmt(v) for v in feat] + [fmt(v) for v in fits]))
        print(loc, gray.shape, file=sys.stderr)
    with open(os.path.join(DATA, "golden.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    # imresize golden: deterministic 13 x 9 input, several scales
    a = ((np.arange(9)[:, None] * 101 + np.arange(13)[None, :] * 37) % 256).astype(np.float64)
    rl = ["# MATLAB imresize(A, scale) of A(y,x) = mod(101*y + 37*x, 256) (0-based y<9, x<13)",
          "# from tools/ref/brisque_ref.py. Per scale: 'scale S W H' then H rows of W values."]
    for scale in (0.5, 0.3, 0.75, 1.0, 1.7):
        r = imresize(a, scale)
        rl.append("scale %r %d %d" % (scale, r.shape[1], r.shape[0]))
        for row in r:
            rl.append(" ".join(fmt(v) for v in row))
    with open(os.path.join(DATA, "resize.txt"), "w") as f:
        f.write("\n".join(rl) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
