#!/usr/bin/python3
"""tools/ref/svr_ref.py - golden BRISQUE SVR scores for tests/test_svr.c.

An independent evaluation of the original BRISQUE release's libsvm model
(../shared/models/brisque-live/allmodel + allrange): the model and range
files are parsed here from scratch, features are scaled exactly as
svm-scale does (value == min -> lower, value == max -> upper, else
lower + (upper - lower) * (value - min) / (max - min); min == max -> 0), and
the epsilon-SVR decision sum_i coef_i exp(-gamma |x - sv_i|^2) - rho is
evaluated twice: with numpy (vectorised) and with a plain sequential loop in
libsvm's order; the two must agree to 1e-9. The "matlab" score emulates the
2011 release's text round trip: features written with '%f', scaled values
printed by svm-scale with '%g', the prediction printed by svm-predict with
'%g' (Python's % formatting rounds exactly like C's printf).

Feature vectors are BRISQUE-like: points inside allrange (midpoints,
quarter points, the minima, seeded random points, one slightly outside).
Writes tests/data/svr/brisque_golden.csv. Run from anywhere:
  /usr/bin/python3 tools/ref/svr_ref.py [SHARED_DIR]
"""
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared")
MODEL = os.path.join(SHARED, "models", "brisque-live", "allmodel")
RANGE = os.path.join(SHARED, "models", "brisque-live", "allrange")
OUT = os.path.join(ROOT, "tests", "data", "svr", "brisque_golden.csv")


def read_model(path):
    head, svs, coefs = {}, [], []
    with open(path, "r", newline="") as f:
        lines = [l.rstrip("\r\n") for l in f]
    i = 0
    while lines[i].strip() != "SV":
        k, *v = lines[i].split()
        head[k] = v
        i += 1
    for l in lines[i + 1:]:
        if not l.strip():
            continue
        tok = l.split()
        coefs.append(float(tok[0]))
        svs.append({int(t.split(":")[0]): float(t.split(":")[1]) for t in tok[1:]})
    assert len(svs) == int(head["total_sv"][0])
    return head, coefs, svs


def read_range(path):
    with open(path, "r", newline="") as f:
        lines = [l.split() for l in f if l.strip()]
    assert lines[0] == ["x"]
    lower, upper = float(lines[1][0]), float(lines[1][1])
    rng = {int(l[0]): (float(l[1]), float(l[2])) for l in lines[2:]}
    return lower, upper, rng


def scale(v, lo, hi, lower, upper):
    if hi == lo:
        return 0.0
    if v == lo:
        return lower
    if v == hi:
        return upper
    return lower + (upper - lower) * (v - lo) / (hi - lo)


def predict_loop(x, coefs, svs, gamma, rho, dim):
    total = 0.0
    for c, sv in zip(coefs, svs):
        d2 = 0.0
        for i in range(1, dim + 1):
            d = x[i - 1] - sv.get(i, 0.0)
            d2 += d * d
        total += c * math.exp(-gamma * d2)
    return total - rho


def main():
    if not os.path.exists(MODEL):
        sys.exit("no model at %s (pass the shared folder)" % MODEL)
    head, coefs, svs = read_model(MODEL)
    lower, upper, rng = read_range(RANGE)
    dim = max(rng)
    gamma, rho = float(head["gamma"][0]), float(head["rho"][0])
    dense = np.zeros((len(svs), dim))
    for k, sv in enumerate(svs):
        for i, v in sv.items():
            dense[k, i - 1] = v
    lo = np.array([rng[i][0] for i in range(1, dim + 1)])
    hi = np.array([rng[i][1] for i in range(1, dim + 1)])

    r = np.random.default_rng(36)
    vectors = {
        "midpoint": (lo + hi) / 2,
        "quarter": lo + 0.25 * (hi - lo),
        "three_quarter": lo + 0.75 * (hi - lo),
        "minimum": lo.copy(),
        "random1": lo + r.uniform(0, 1, dim) * (hi - lo),
        "random2": lo + r.uniform(0.2, 0.6, dim) * (hi - lo),
        "outside": lo + r.uniform(-0.1, 1.1, dim) * (hi - lo),
    }
    rows = ["name,score,score_matlab," + ",".join("f%d" % (i + 1) for i in range(dim))]
    for name, f in vectors.items():
        x = [scale(float(f[i]), lo[i], hi[i], lower, upper) for i in range(dim)]
        score = predict_loop(x, coefs, svs, gamma, rho, dim)
        k = np.exp(-gamma * np.sum((np.array(x)[None, :] - dense) ** 2, axis=1))
        score_np = float(np.dot(np.array(coefs), k) - rho)
        assert abs(score - score_np) < 1e-9, (name, score, score_np)
        # MATLAB release: %f -> svm-scale %g -> svm-predict %g
        xm = []
        for i in range(dim):
            v = float("%f" % f[i])
            xm.append(float("%g" % scale(v, lo[i], hi[i], lower, upper)))
        score_m = float("%g" % predict_loop(xm, coefs, svs, gamma, rho, dim))
        rows.append(",".join([name, repr(score), repr(score_m)] + [repr(float(v)) for v in f]))
        print("%-14s %.12f  matlab-io %s" % (name, score, repr(score_m)), file=sys.stderr)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fo:
        fo.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
