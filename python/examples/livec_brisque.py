#!/usr/bin/env python3
"""The paper's BRISQUE protocol on LIVE Challenge, from Python.

    LMMIQA_DATA_DIR=../shared python3 python/examples/livec_brisque.py

Extracts the 36 BRISQUE features of the 1,162 images into the feature store
(once; later runs reuse it), trains the paper's linear head and an MLP on 10
random 80/20 splits (seed 1), and prints PLCC/SROCC mean (std) per head, the
same numbers as `lmmiqa eval --dataset livec --features brisque`.
"""

import argparse

import lmmiqa


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="livec")
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=None, help="training epochs (default: the head's)")
    args = ap.parse_args()
    extra = {} if args.epochs is None else {"epochs": args.epochs}
    print(f"{'features':<10} {'head':<7} {'PLCC':>16} {'SROCC':>16}")
    for head in ("linear", "mlp"):
        rows = lmmiqa.eval(args.dataset, "brisque", splits=args.splits, seed=args.seed,
                           head=head, **extra)
        for r in rows:
            print(f"{r['spec']:<10} {r['head']:<7} "
                  f"{r['plcc']:.4f} ({r['plcc_std']:.3f}) {r['srocc']:.4f} ({r['srocc_std']:.3f})")


if __name__ == "__main__":
    main()
