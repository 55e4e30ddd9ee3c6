#!/bin/bash
# tests/cli/eval_model_score.sh - `lmmiqa eval --model-score`: a trainable
# extractor's own score (CNNIQA's prediction, no regressor) reported beside
# the specs, on a small LIVE Challenge subset (30 images, 2 splits, 1 epoch,
# 2 patches: a few seconds). Checks: the third table of results.md (also on
# stdout), model_scores.csv (one row per split, test counts as in
# splits.json, correlations in [-1, 1], RMSE positive), model_predictions.csv
# (every test row, predictions on the MOS scale), "model_scores" in
# results.json, nothing of it without the option, a usage error without a
# trainable extractor, and the same per-split PLCC/SROCC as tools/cnniqa_eval
# on the same images, splits, seeds and settings. Skips without the data.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
need_livec
N=30
{
    echo "image,mos"
    sed -n "2,$((N + 1))p" "$LIVEC/livec.csv" | cut -d, -f1,2
} >"$TMP/sub.csv"
ev() { "$CLI" eval --dataset "$TMP/sub.csv" --image-root "$LIVEC" --store "$TMP/store" \
    --features cnniqa --splits 2 --seed 1 --fit-epochs 1 --fit-patches 2 --jobs 2 "$@"; }

ev --model-score --out "$TMP/out" >"$TMP/table.md" 2>"$TMP/err"
check "eval --model-score exit 0" test $? -eq 0 || cat "$TMP/err"
check "stdout: own-score table" grep -q '^| Own score of | sub PLCC' "$TMP/table.md"
check "stdout: cnniqa own-score row" \
    grep -Eq '^\| cnniqa \| -?[0-9.]+ \([0-9.]+\) \| -?[0-9.]+ \([0-9.]+\) \| ' "$TMP/table.md"
check "results.md = stdout" cmp -s "$TMP/table.md" "$TMP/out/results.md"
check "log: own score per split" test "$(grep -c 'own score on 6 test images' "$TMP/err")" -eq 2
check "model_scores.csv header" \
    test "$(head -1 "$TMP/out/model_scores.csv")" = "extractor,split,n_train,n_val,n_test,plcc,srocc,krcc,rmse"
check "model_scores.csv: 2 splits" test "$(grep -c '^cnniqa,' "$TMP/out/model_scores.csv")" -eq 2
check "metrics in range" awk -F, 'NR > 1 {
        if ($6 < -1 || $6 > 1 || $7 < -1 || $7 > 1 || $8 < -1 || $8 > 1 || !($9 > 0 && $9 < 100))
            exit 1
        n++
    } END { exit n != 2 }' "$TMP/out/model_scores.csv"
check "predictions: every test row, on the MOS scale" awk -F, 'NR > 1 {
        if ($1 != "cnniqa" || !($5 > -50 && $5 < 150)) exit 1
        n++
    } END { exit n != 12 }' "$TMP/out/model_predictions.csv"
if /usr/bin/python3 -c 'import json' 2>/dev/null; then
    check "results.json model_scores; test counts = splits.json" /usr/bin/python3 -c "
import csv, json
r = json.load(open('$TMP/out/results.json'))
ms = r['model_scores']
assert len(ms) == 1 and ms[0]['extractor'] == 'cnniqa' and len(ms[0]['per_split']) == 2, ms
assert 'head' not in ms[0]
s = json.load(open('$TMP/out/splits.json'))['splits']
rows = list(csv.DictReader(open('$TMP/out/model_scores.csv')))
for k, sp in enumerate(s):
    assert int(rows[k]['n_test']) == len(sp['test']) and int(rows[k]['n_train']) == len(sp['train'])
    assert abs(float(rows[k]['plcc']) - ms[0]['per_split'][k]['plcc']) < 1e-12
"
fi

# Without the option: the outputs of before, nothing of the own score.
ev --out "$TMP/plain" >"$TMP/plain.md" 2>/dev/null
check "plain eval exit 0" test $? -eq 0
check "plain: no own-score table" bash -c "! grep -q 'Own score' '$TMP/plain.md'"
check "plain: no model_scores.csv" test ! -e "$TMP/plain/model_scores.csv"
check "plain: same spec results" cmp -s "$TMP/plain/results.csv" "$TMP/out/results.csv"

"$CLI" eval --dataset "$TMP/sub.csv" --image-root "$LIVEC" --features brisque --model-score \
    --out "$TMP/x" >/dev/null 2>"$TMP/err"
check "--model-score without a trainable extractor: exit 2" test $? -eq 2
check "... named" grep -q -- '--model-score needs a trainable extractor' "$TMP/err"

# The same numbers as tools/cnniqa_eval (splits seed 1, fit seeds 1 + k).
TOOL=${LMMIQA_BINARY_DIR:-}/cnniqa_eval
if [ -n "${LMMIQA_BINARY_DIR:-}" ] && [ -x "$TOOL" ]; then
    {
        echo "image,mos"
        sed -n "2,$((N + 1))p" "$LIVEC/livec.csv" | cut -d, -f1,2 | sed "s#^#$LIVEC/#"
    } >"$TMP/abs.csv"
    # The tool frees nothing at exit (a one-shot program): no leak report.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        "$TOOL" "$TMP/abs.csv" 2 1 2 1 >"$TMP/tool.txt" 2>/dev/null
    check "cnniqa_eval exit 0" test $? -eq 0
    awk '$1 ~ /^[0-9]+$/ { print $1 "," $2 "," $3 }' "$TMP/tool.txt" >"$TMP/tool.csv"
    awk -F, 'NR > 1 { printf "%s,%.4f,%.4f\n", $2, $6, $7 }' "$TMP/out/model_scores.csv" \
        >"$TMP/ours.csv"
    check "own score = cnniqa_eval's cnniqa-score (PLCC, SROCC per split)" \
        cmp -s "$TMP/tool.csv" "$TMP/ours.csv" || paste "$TMP/tool.csv" "$TMP/ours.csv"
fi
exit $fail
