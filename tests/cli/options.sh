#!/bin/bash
# tests/cli/options.sh - one spelling for the same option everywhere: -o, -j,
# -q short forms, --image-root in every command (dataset keeps its old
# --images-root as an alias), and `dataset splits` and `eval` making the same
# splits by default (the same default seed); metrics and plot say when they
# pool several splits of eval's predictions (or take --split). Generated images.
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
"$CLI" score -o"$TMP/s2.csv" -j1 "$TMP"/img/*.png >/dev/null 2>&1
check "score -oFILE -j1 (attached values)" cmp -s "$TMP/s.csv" "$TMP/s2.csv"
"$CLI" score -jx "$TMP"/img/*.png >/dev/null 2>"$TMP/jx.err"
check "-jx: an attached value is checked like a separate one" test $? -eq 2
"$CLI" score -o 2>"$TMP/o.err"
check "-o without a value is a usage error naming it" sh -c "grep -q -- '-o (--output) needs a value' '$TMP/o.err'"
# Opt-in training-part predictions: same test predictions, train rows added,
# an earlier result without them recomputed with a warning.
"$CLI" eval --dataset "$TMP/labels.csv" --image-root "$TMP/img" --features brisque --splits 3 \
    --epochs 2 --store "$TMP/store" -o "$TMP/ev" -j 1 --train-predictions >/dev/null 2>"$TMP/evt.err"
check "eval --train-predictions" test $? -eq 0
check "an earlier split without them is recomputed, with a warning" grep -q 'no training-part predictions' "$TMP/evt.err"
ntrain=$(awk -F, 'NR > 1 { s += $3 } END { print s }' "$TMP/ev/per_split.csv")
check "train_predictions.csv has every split's training rows" test "$(($(wc -l <"$TMP/ev/train_predictions.csv") - 1))" -eq "$ntrain"
check "train_predictions.csv has predictions.csv's columns" test "$(head -1 "$TMP/ev/train_predictions.csv")" = "$(head -1 "$TMP/ev/predictions.csv")"
"$CLI" eval --dataset "$TMP/labels.csv" --image-root "$TMP/img" --features brisque --splits 3 \
    --epochs 2 --store "$TMP/store" -o "$TMP/ev" -j 1 --train-predictions >/dev/null 2>"$TMP/evt2.err"
check "a rerun reuses the splits with them (no warning)" sh -c "! grep -q warning '$TMP/evt2.err'"

# metrics and plot over eval's predictions.csv: pooling several splits is said.
"$CLI" metrics "$TMP/ev/predictions.csv" >/dev/null 2>"$TMP/m.err"
check "metrics says it pools 3 splits" grep -q 'pool 3 splits' "$TMP/m.err"
"$CLI" metrics "$TMP/ev/predictions.csv" --split 2 >"$TMP/m2.out" 2>"$TMP/m2.err"
check "metrics --split 2: one split, no note" sh -c "! grep -q pool '$TMP/m2.err'"
n2=$(awk -F, 'NR > 1 && $2 == 2' "$TMP/ev/predictions.csv" | wc -l)
check "metrics --split 2 reads that split's rows only" grep -Eq "^n +$n2\$" "$TMP/m2.out"
"$CLI" metrics "$TMP/ev/predictions.csv" --split 99 >/dev/null 2>&1
check "metrics --split with no row: exit 1" test $? -eq 1
"$CLI" plot scatter "$TMP/ev/predictions.csv" -o "$TMP/sc.png" >/dev/null 2>"$TMP/p.err"
check "plot scatter says it pools splits" grep -q 'pool several splits' "$TMP/p.err"
"$CLI" plot scatter "$TMP/ev/predictions.csv" --split split --split-value 1 -o "$TMP/sc1.png" >/dev/null 2>"$TMP/p1.err"
check "plot scatter of one split: no note" sh -c "! grep -q pool '$TMP/p1.err'"
# The paper's training / test panels from those files.
"$CLI" plot scatter "$TMP/ev/predictions.csv" --train "$TMP/ev/train_predictions.csv" \
    --split split --split-value 1 -o "$TMP/panels.png" >"$TMP/panels.out" 2>&1
check "plot scatter --train draws two panels" test $? -eq 0
check "  with the training and the test metrics" sh -c "grep -q '^training: ' '$TMP/panels.out' && grep -q '^test: ' '$TMP/panels.out'"
"$CLI" plot scatter "$TMP/ev/predictions.csv" --split split --split-value 1 -o "$TMP/single.png" >/dev/null 2>&1
w2=$(python3 -c 'import struct,sys; print(struct.unpack(">I", open(sys.argv[1],"rb").read()[16:20])[0])' "$TMP/panels.png")
w1=$(python3 -c 'import struct,sys; print(struct.unpack(">I", open(sys.argv[1],"rb").read()[16:20])[0])' "$TMP/single.png")
check "  side by side (about twice as wide)" test "$w2" -gt $((w1 * 18 / 10))
exit $fail
