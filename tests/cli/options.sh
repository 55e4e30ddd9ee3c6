#!/bin/bash
# tests/cli/options.sh - one spelling for the same option everywhere: -o, -j,
# -q short forms, --image-root in every command (dataset keeps its old
# --images-root as an alias), and `dataset splits` and `eval` making the same
# splits by default (the same default seed). Generated images.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
"$LMMIQA_BINARY_DIR/gen_samples" "$TMP/img" --size 320x240 >/dev/null 2>&1
{ echo "image,mos"; k=0; for f in "$TMP"/img/*.png "$TMP"/img/*.jpg; do echo "$(basename "$f"),$((k % 90 + 5))"; k=$((k + 1)); done; } >"$TMP/labels.csv"
check "labels made" test "$(wc -l <"$TMP/labels.csv")" -gt 20

"$CLI" dataset splits "$TMP/labels.csv" --splits 3 -o "$TMP/splits.json" >/dev/null 2>&1
check "dataset splits -o" test -s "$TMP/splits.json"
"$CLI" eval --dataset "$TMP/labels.csv" --image-root "$TMP/img" --features brisque --splits 3 \
    --epochs 2 --store "$TMP/store" -o "$TMP/ev" -q -j 1 >/dev/null 2>"$TMP/eval.err"
check "eval with -o -q -j and --image-root" test $? -eq 0
check "eval -q prints no progress" sh -c "! grep -q 'img/s' '$TMP/eval.err'"
check "dataset splits and eval make the same splits by default" cmp -s "$TMP/splits.json" "$TMP/ev/splits.json"

a=$("$CLI" dataset info "$TMP/labels.csv" --image-root "$TMP/img" --json)
b=$("$CLI" dataset info "$TMP/labels.csv" --images-root "$TMP/img" --json)
check "dataset --image-root" sh -c "echo '$a' | grep -q '\"missing\": *0\\|\"missing_images\": *0\\|images_root'"
check "dataset --images-root is the same (alias)" test "$a" = "$b"

"$CLI" extract --extractor brisque -o "$TMP/f.csv" -j 1 "$TMP"/img/*.png >/dev/null 2>&1
check "extract -o -j" test -s "$TMP/f.csv"
"$CLI" score -o "$TMP/s.csv" -j 1 "$TMP"/img/*.png >/dev/null 2>&1
check "score -o -j" test -s "$TMP/s.csv"
"$CLI" score -o 2>"$TMP/o.err"
check "-o without a value is a usage error naming it" sh -c "grep -q -- '-o (--output) needs a value' '$TMP/o.err'"
exit $fail
