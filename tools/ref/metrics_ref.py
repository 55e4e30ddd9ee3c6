#!/usr/bin/python3
"""tools/ref/metrics_ref.py - golden values for tests/test_metrics.c.

Generates a few seeded (pred, mos) vectors and their PLCC, SROCC, KRCC
(tau-b), RMSE and logistic-mapped PLCC/RMSE computed with scipy:
  scipy.stats.pearsonr / spearmanr / kendalltau (tau-b, the default),
  scipy.optimize.curve_fit (Levenberg-Marquardt) for the VQEG logistic
  f(x) = (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2, started from the same
  three points as src/eval/metrics.c (b1 = max(mos), b2 = min(mos), swapped
  when the trend falls, b3 = mean(pred), b4 = std(pred) * {1/4, 1, 4}),
  keeping the lowest residual.

Writes tests/data/metrics/<case>.csv (columns pred,mos) and
tests/data/metrics/golden.csv (one row per case; empty = undefined).
Run from the repository root with Debian's python: /usr/bin/python3
tools/ref/metrics_ref.py
"""
import os
import sys
import warnings

import numpy as np
from scipy import optimize, stats

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "metrics")


def logistic(x, b1, b2, b3, b4):
    return (b1 - b2) / (1.0 + np.exp(-(x - b3) / np.abs(b4))) + b2


def fit_logistic(pred, mos):
    if len(pred) < 5:
        return None
    r = stats.pearsonr(pred, mos)[0]
    hi, lo = (mos.max(), mos.min()) if r >= 0 else (mos.min(), mos.max())
    best = None
    for k in (0.25, 1.0, 4.0):
        p0 = [hi, lo, pred.mean(), pred.std() * k]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                beta, _ = optimize.curve_fit(logistic, pred, mos, p0=p0, maxfev=20000,
                                             xtol=1e-14, ftol=1e-14)
        except RuntimeError:
            continue
        sse = float(np.sum((mos - logistic(pred, *beta)) ** 2))
        if best is None or sse < best[0]:
            best = (sse, beta)
    if best is None:
        return None
    mapped = logistic(pred, *best[1])
    return stats.pearsonr(mapped, mos)[0], float(np.sqrt(np.mean((mapped - mos) ** 2)))


def cases():
    rng = np.random.default_rng(20240611)
    out = {}
    # many ties in both vectors
    p = rng.integers(0, 8, 40).astype(float)
    m = np.round((p + rng.normal(0, 2, 40)) * 2) / 2
    out["ties"] = (p, m)
    # the smallest defined case
    out["n3"] = (np.array([0.1, 0.7, 0.4]), np.array([1.0, 3.0, 3.5]))
    # large, correlated, offset far from zero (tests the centred sums)
    q = rng.normal(0, 1, 1000)
    out["n1000"] = (1e4 + q + rng.normal(0, 0.5, 1000), 50 + 10 * q + rng.normal(0, 3, 1000))
    # realistic: MOS on 0..100 saturating in the true quality, noisy predictions
    t = rng.uniform(0, 1, 300)
    mos = 100 / (1 + np.exp(-(t - 0.5) / 0.12)) + rng.normal(0, 4, 300)
    pred = 2 + 3 * t + rng.normal(0, 0.25, 300)
    out["realistic"] = (np.round(pred, 6), np.round(mos, 4))
    # falling trend with ties
    p = np.round(rng.uniform(0, 10, 60), 1)
    m = 5 - 0.4 * p + np.round(rng.normal(0, 0.8, 60), 1)
    out["falling"] = (p, m)
    return out


def fmt(v):
    return "" if v is None else repr(float(v))


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = ["case,n,plcc,srocc,krcc,rmse,plcc_logistic,rmse_logistic"]
    for name, (p, m) in cases().items():
        with open(os.path.join(OUT, name + ".csv"), "w") as f:
            f.write("pred,mos\n")
            for a, b in zip(p, m):
                f.write("%s,%s\n" % (repr(float(a)), repr(float(b))))
        # re-read what was written so the goldens match the file exactly
        p = np.array([float(repr(float(a))) for a in p])
        m = np.array([float(repr(float(b))) for b in m])
        plcc = stats.pearsonr(p, m)[0]
        srocc = stats.spearmanr(p, m)[0]
        krcc = stats.kendalltau(p, m)[0]  # tau-b
        rmse = float(np.sqrt(np.mean((p - m) ** 2)))
        lg = fit_logistic(p, m)
        rows.append(",".join([name, str(len(p)), fmt(plcc), fmt(srocc), fmt(krcc), fmt(rmse),
                              fmt(lg[0] if lg else None), fmt(lg[1] if lg else None)]))
        print(rows[-1], file=sys.stderr)
    with open(os.path.join(OUT, "golden.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
