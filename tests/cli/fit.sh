#!/bin/bash
# tests/cli/fit.sh - `lmmiqa fit`: usage errors (exit 2), a tiny CNNIQA
# training on four LIVE Challenge images listed in a label file (1 epoch,
# 2 patches per image, width 8), resume from its checkpoint, the weights
# used by `lmmiqa extract --extractor cnniqa`, a split file selecting the
# training rows, and a bad split index (exit 1). Skips without the data.
set -u
CLI=${LMMIQA_CLI:?LMMIQA_CLI must name the lmmiqa binary}
SHARED=${LMMIQA_SHARED_DIR:-${LMMIQA_SOURCE_DIR:-.}/../shared}
LIVEC=$SHARED/data/livec
if [ ! -f "$LIVEC/livec.csv" ]; then
    echo "SKIP: $LIVEC not found"
    exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
check() { # description, command...
    local what=$1
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}
{
    echo "image,mos"
    echo "Images/100.png,32.5"
    echo "Images/101.png,66.3"
    echo "Images/102.png,50.1"
    echo "Images/103.png,70.9"
} > "$TMP/tiny.csv"

"$CLI" fit --help > "$TMP/help" 2>&1
check "--help exit 0" test $? -eq 0
check "--help documents exit codes" grep -q "Exit codes" "$TMP/help"
"$CLI" fit --extractor cnniqa --dataset "$TMP/tiny.csv" --image-root "$LIVEC" > /dev/null 2>&1
check "missing --out exit 2" test $? -eq 2
"$CLI" fit --extractor brisque --dataset "$TMP/tiny.csv" --image-root "$LIVEC" --out "$TMP/w" > /dev/null 2> "$TMP/err"
check "untrainable extractor exit 2" test $? -eq 2
check "untrainable extractor named" grep -q "brisque" "$TMP/err"
"$CLI" fit --extractor cnniqa --dataset "$TMP/tiny.csv" --image-root "$LIVEC" --out "$TMP/w" --lr -1 > /dev/null 2>&1
check "negative lr exit 2" test $? -eq 2

W=$TMP/cnniqa.safetensors
"$CLI" fit --extractor cnniqa --dataset "$TMP/tiny.csv" --image-root "$LIVEC" --out "$W" --epochs 1 --patches 2 \
    --fc 8 --threads 1 --checkpoint "$TMP/ck.safetensors" 2> "$TMP/log"
check "tiny fit exit 0" test $? -eq 0
check "weights written" test -s "$W"
check "epoch logged" grep -q "epoch 1/1" "$TMP/log"
"$CLI" fit --extractor cnniqa --dataset "$TMP/tiny.csv" --image-root "$LIVEC" --out "$TMP/w2.safetensors" --epochs 1 \
    --patches 2 --fc 8 --threads 1 --checkpoint "$TMP/ck.safetensors" 2> "$TMP/log2"
check "resume from checkpoint" grep -q "resumed" "$TMP/log2"
check "resumed run gives the same weights" cmp -s "$W" "$TMP/w2.safetensors"

"$CLI" extract --extractor cnniqa --weights "cnniqa=$W" "$LIVEC/Images/100.png" > "$TMP/f.csv"
check "extract with trained weights exit 0" test $? -eq 0
check "8 features + image column" test "$(head -1 "$TMP/f.csv" | tr ',' '\n' | wc -l)" -eq 9
"$CLI" extract --extractor cnniqa "$LIVEC/Images/100.png" > /dev/null 2> "$TMP/err"
check "extract without weights fails" test $? -ne 0
check "missing weights explained" grep -qi "weight" "$TMP/err"

"$CLI" dataset splits "$TMP/tiny.csv" --out "$TMP/splits.json" --splits 2 --test 0.25 > /dev/null
"$CLI" fit --extractor cnniqa --dataset "$TMP/tiny.csv" --image-root "$LIVEC" --split-file "$TMP/splits.json" \
    --split 2 --out "$TMP/w3.safetensors" --epochs 1 --patches 1 --fc 8 2> "$TMP/log3"
check "fit on split 2 exit 0" test $? -eq 0
check "3 training images of 4" grep -q "on 3 training images" "$TMP/log3"
"$CLI" fit --extractor cnniqa --dataset "$TMP/tiny.csv" --image-root "$LIVEC" --split-file "$TMP/splits.json" \
    --split 5 --out "$TMP/w4.safetensors" > /dev/null 2> "$TMP/err"
check "split out of range exit 1" test $? -eq 1
check "split out of range explained" grep -q "2 splits" "$TMP/err"
exit $fail
