#!/usr/bin/env bash
# scripts/eval-cnniqa-livec.sh - CNNIQA on LIVE Challenge with the paper's
# protocol: `lmmiqa eval` trains CNNIQA on each split's training images only
# (OUTDIR/runs/cnniqa/split-k.*), extracts every image with that split's
# weights (OUTDIR/stores/split-k/), regresses "cnniqa", "cnniqa+brisque"
# and, for reference, "brisque" on them with the paper's MLP, and reports
# CNNIQA's own score (docs/protocol.md, "Trainable extractors"). Prints the
# results tables (mean (population std) over splits): with EPOCHS=8 and
# EPOCHS=2 they are docs/cnniqa.md's table, digit for digit. Rerunning
# resumes every finished fit, store and split.
#
#   scripts/eval-cnniqa-livec.sh [OUTDIR]
#   env: LMMIQA (CLI, default build/lmmiqa), EPOCHS (2), PATCHES (32),
#        SEED (1), SPLITS (10)
set -euo pipefail
LMMIQA=${LMMIQA:-build/lmmiqa}
OUT=${1:-cnniqa-livec}
EPOCHS=${EPOCHS:-2}
PATCHES=${PATCHES:-32}
SEED=${SEED:-1}
SPLITS=${SPLITS:-10}
exec "$LMMIQA" eval --dataset livec --features cnniqa,cnniqa+brisque,brisque --head mlp \
    --splits "$SPLITS" --seed "$SEED" --fit-epochs "$EPOCHS" --fit-patches "$PATCHES" \
    --model-score --out "$OUT"
