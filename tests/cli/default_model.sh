#!/bin/bash
# tests/cli/default_model.sh - the built-in model's recipe: two runs of
# scripts/train-default-model.sh (the second to another path) give the same
# bytes, the same bytes as the committed models/default-nss-livec.safetensors;
# the model is under 5 MB and reads the recipe's features; `lmmiqa eval
# --features default` and `train --features default` refuse other feature
# combinations and regressor options. Skips without LIVE Challenge.
# The features (1162 images and 13944 distorted copies, about 6 minutes on 2
# cores) are kept in $XDG_CACHE_HOME/lmmiqa/default-model-store (ctest sets
# XDG_CACHE_HOME to the build's test-cache) so later runs take about 2 minutes.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
need_livec
if [ -n "${LMMIQA_SANITIZED:-}" ]; then
    # Two full trainings (minutes at native speed) add nothing under the
    # sanitizers: the nss extractor and the trainer have their own ASan'd
    # tests; the bit-for-bit rebuild is checked by `make test`.
    echo "SKIP under the sanitizers: the rebuild check runs in make test"
    exit 77
fi
SRC=${LMMIQA_SOURCE_DIR:?LMMIQA_SOURCE_DIR must name the source folder}
BUILD=${LMMIQA_BINARY_DIR:?LMMIQA_BINARY_DIR must name the build folder}
export LMMIQA_SHARED_DIR=$SHARED
STORE=${XDG_CACHE_HOME:-$TMP}/lmmiqa/default-model-store
"$SRC/scripts/train-default-model.sh" --build "$BUILD" --store "$STORE" --out "$TMP/a.safetensors" >/dev/null
check "first training run" test -s "$TMP/a.safetensors"
"$SRC/scripts/train-default-model.sh" --build "$BUILD" --store "$STORE" --out "$TMP/sub/b.safetensors" >/dev/null
check "the rebuild is bit-identical" cmp -s "$TMP/a.safetensors" "$TMP/sub/b.safetensors"
check "it is the committed built-in model, bit for bit" \
    cmp -s "$TMP/a.safetensors" "$SRC/models/default-nss-livec.safetensors"
check "under 5 MB" test "$(wc -c < "$TMP/a.safetensors")" -lt 5000000
check "the model reads nss" grep -q '"features\\":\\"nss\\"' "$TMP/a.safetensors"
check "with ranking pairs" grep -q 'rank_augment' "$TMP/a.safetensors"
check "trained on every image" grep -q '"train_rows\\":1162' "$TMP/a.safetensors"
"$CLI" score --model "$TMP/a.safetensors" "$LIVEC/Images/100.png" >"$TMP/s.csv" 2>"$TMP/err"
check "it scores" grep -q "100.png," "$TMP/s.csv"
"$CLI" eval --dataset livec --features default,brisque --out "$TMP/e" --store "$STORE/livec" >/dev/null 2>&1
check "default with another combination exit 2" test $? -eq 2
"$CLI" eval --dataset livec --features default --head mlp --out "$TMP/e" --store "$STORE/livec" >/dev/null 2>&1
check "default with --head exit 2" test $? -eq 2
"$CLI" train --dataset livec --features default --svr-c 3 --out "$TMP/x.safetensors" --store "$STORE/livec" >/dev/null 2>&1
check "train default with a head option exit 2" test $? -eq 2
exit $fail
