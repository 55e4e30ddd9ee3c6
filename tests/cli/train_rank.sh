#!/bin/bash
# tests/cli/train_rank.sh - `lmmiqa train --rank-augment`: distorted copies of
# four LIVE images give ranking pairs (30 per image), their features are
# cached in STORE/rank-augment and reused by a rerun, the model metadata
# records the augmentation, and bad options are usage errors. Skips without
# the shared data.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
need_livec
{
    echo "image,mos"
    sed -n '2,5p' "$LIVEC/livec.csv" | cut -d, -f1,2
} >"$TMP/four.csv"
train() {
    "$CLI" train --features brisque --dataset "$TMP/four.csv" --image-root "$LIVEC" \
        --store "$TMP/store" --epochs 3 --head mlp --hidden 16 "$@"
}
train --rank-augment all --out "$TMP/m.safetensors" 2>"$TMP/err"
check "train --rank-augment all exit 0" test $? -eq 0
check "48 copies computed" grep -q "48 distorted copies of 4 images, 0 reused, 48 computed" "$TMP/err"
check "120 ranking pairs" grep -q "120 ranking pairs" "$TMP/err"
check "copies cached" test -s "$TMP/store/rank-augment/brisque.npy"
check "metadata records the augmentation" grep -aq 'rank_augment' "$TMP/m.safetensors"
"$CLI" score --model "$TMP/m.safetensors" "$LIVEC/Images/100.png" >"$TMP/s.csv" 2>"$TMP/err2"
check "score with the ranked model exit 0" test $? -eq 0
train --rank-augment 2 --rank-lambda 0.5 --rank-margin 0.05 --out "$TMP/m2.safetensors" 2>"$TMP/err"
check "rerun with fewer images exit 0" test $? -eq 0
check "rerun reuses the cached copies" grep -q "24 distorted copies of 2 images, 24 reused, 0 computed" "$TMP/err"
train --rank-augment 0 --out "$TMP/m4.safetensors" 2>"$TMP/err"
check "--rank-augment 0 is plain training" grep -q " 0 ranking pairs" "$TMP/err"
train --rank-augment lots --out "$TMP/x.safetensors" 2>/dev/null
check "bad --rank-augment exit 2" test $? -eq 2
train --rank-augment 2 --head svr --out "$TMP/x.safetensors" 2>/dev/null
check "svr with --rank-augment exit 2" test $? -eq 2
train --rank-augment 2 --rank-margin 3 --out "$TMP/x.safetensors" 2>/dev/null
check "bad --rank-margin exit 2" test $? -eq 2
exit $fail
