#!/usr/bin/env bash
# scripts/eval-cnniqa-livec.sh - CNNIQA on LIVE Challenge with the paper's
# protocol, CNNIQA trained on each split's training images only:
#   for split k of 10 random 80/20 splits:
#     lmmiqa fit     --extractor cnniqa (training rows of split k only)
#     lmmiqa eval    --features cnniqa,cnniqa+brisque with that split's
#                    weights and its own feature store
#   and keep split k's row of each run (the other splits of that run used
#   weights trained on their test images and are ignored).
# Prints per-split PLCC/SROCC and their mean (population std) over splits.
#
#   scripts/eval-cnniqa-livec.sh [OUTDIR]
#   env: LMMIQA (CLI, default build/lmmiqa), EPOCHS (2), PATCHES (32),
#        SEED (1), SPLITS (10), ONLY ("3 7": run only these splits)
set -euo pipefail
LMMIQA=${LMMIQA:-build/lmmiqa}
OUT=${1:-cnniqa-livec}
EPOCHS=${EPOCHS:-2}
PATCHES=${PATCHES:-32}
SEED=${SEED:-1}
SPLITS=${SPLITS:-10}
ONLY=${ONLY:-$(seq 1 "$SPLITS")}
mkdir -p "$OUT"
[ -f "$OUT/splits.json" ] ||
    "$LMMIQA" dataset splits livec --out "$OUT/splits.json" --splits "$SPLITS" --seed "$SEED"
# BRISQUE does not depend on the split: extract once, share with every split store.
"$LMMIQA" extract --extractor brisque --dataset livec --output "$OUT/brisque-store" --quiet
rows="$OUT/per_split_cnniqa.csv"
: > "$rows"
for k in $ONLY; do
    d="$OUT/split-$k"
    mkdir -p "$d/store"
    if [ ! -f "$d/cnniqa.safetensors" ]; then
        "$LMMIQA" fit --extractor cnniqa --dataset livec --split-file "$OUT/splits.json" \
            --split "$k" --epochs "$EPOCHS" --patches "$PATCHES" --seed "$k" \
            --checkpoint "$d/checkpoint.safetensors" --out "$d/cnniqa.safetensors"
    fi
    for f in "$OUT/brisque-store"/brisque.*; do ln -sf "$(realpath "$f")" "$d/store/"; done
    "$LMMIQA" eval --dataset livec --split-file "$OUT/splits.json" \
        --features cnniqa --features cnniqa+brisque --weights "cnniqa=$d/cnniqa.safetensors" \
        --store "$d/store" --out "$d/eval" --quiet > /dev/null
    # keep split k's rows (header-driven, so column order does not matter)
    awk -F, -v k="$k" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        $c["split"] == k { print $c["features"] "," k "," $c["plcc"] "," $c["srocc"] }' \
        "$d/eval/per_split.csv" >> "$rows"
done
echo "spec,split,plcc,srocc"
cat "$rows"
awk -F, '{ n[$1]++; p[$1, n[$1]] = $3; s[$1, n[$1]] = $4; sp[$1] += $3; ss[$1] += $4;
           qp[$1] += $3 * $3; qs[$1] += $4 * $4 }
    END { for (k in n) {
            mp = sp[k] / n[k]; ms = ss[k] / n[k];
            printf "%s: PLCC %.4f (%.4f)  SROCC %.4f (%.4f)  over %d splits\n", k, mp,
                   sqrt(qp[k] / n[k] - mp * mp), ms, sqrt(qs[k] / n[k] - ms * ms), n[k] } }' "$rows"
