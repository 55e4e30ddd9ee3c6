#!/bin/bash
# tests/cli/default_model.sh - the built-in model's recipe: two runs of
# scripts/train-default-model.sh (the second from the first's feature store,
# to another path) give the same bytes; the model reads the recipe's
# features with its head; `lmmiqa eval --features default` refuses other
# feature combinations and regressor options. Skips without LIVE Challenge.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
need_livec
SRC=${LMMIQA_SOURCE_DIR:?LMMIQA_SOURCE_DIR must name the source folder}
BUILD=${LMMIQA_BINARY_DIR:?LMMIQA_BINARY_DIR must name the build folder}
export LMMIQA_SHARED_DIR=$SHARED
"$SRC/scripts/train-default-model.sh" --build "$BUILD" --store "$TMP/store" --out "$TMP/a.safetensors" >/dev/null
check "first training run" test -s "$TMP/a.safetensors"
"$SRC/scripts/train-default-model.sh" --build "$BUILD" --store "$TMP/store" --out "$TMP/sub/b.safetensors" >/dev/null
check "the rebuild is bit-identical" cmp -s "$TMP/a.safetensors" "$TMP/sub/b.safetensors"
check "under 5 MB" test "$(wc -c < "$TMP/a.safetensors")" -lt 5000000
check "the model reads nss with the svr head" grep -q '"features\\":\\"nss\\"' "$TMP/a.safetensors"
check "trained on every image" grep -q '"train_rows\\":1162' "$TMP/a.safetensors"
"$CLI" score --model "$TMP/a.safetensors" "$LIVEC/Images/100.png" >"$TMP/s.csv" 2>"$TMP/err"
check "it scores" grep -q "100.png," "$TMP/s.csv"
"$CLI" eval --dataset livec --features default,brisque --out "$TMP/e" --store "$TMP/store" >/dev/null 2>&1
check "default with another combination exit 2" test $? -eq 2
"$CLI" eval --dataset livec --features default --head mlp --out "$TMP/e" --store "$TMP/store" >/dev/null 2>&1
check "default with --head exit 2" test $? -eq 2
"$CLI" train --dataset livec --features default --svr-c 3 --out "$TMP/x.safetensors" --store "$TMP/store" >/dev/null 2>&1
check "train default with a head option exit 2" test $? -eq 2
exit $fail
