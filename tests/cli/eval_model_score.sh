#!/bin/bash
# tests/cli/eval_model_score.sh - `lmmiqa eval --model-score`: a trainable
# extractor's own score (CNNIQA's prediction, no regressor) reported beside
# the specs, on a small LIVE Challenge subset (30 images, 2 splits, 1 epoch,
# 2 patches: a few seconds). Checks: the third table of results.md (also on
# stdout), model_scores.csv (one row per split, test counts as in
# splits.json, correlations in [-1, 1], RMSE positive), model_predictions.csv
# (every test row, predictions on the MOS scale), "model_scores" in
# results.json, the same predictions from a resumed run, nothing of it
# without the option, a usage error without a trainable extractor, and the
# same predictions, bit for bit, from `lmmiqa fit` on each split with eval's
# settings and seed followed by `lmmiqa score --own-score` on its test
# images. Skips without the data.
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

# Resumed (the fits reused, the own scores recomputed): the same bits, as
# the scoring does not depend on whether a fit ran in the process.
cp "$TMP/out/model_predictions.csv" "$TMP/first.csv"
ev --model-score --out "$TMP/out" >/dev/null 2>"$TMP/err"
check "resumed eval exit 0" test $? -eq 0 || cat "$TMP/err"
check "resumed: fits reused" test "$(grep -c 'fitted weights reused' "$TMP/err")" -eq 2
check "resumed: the same predictions" cmp -s "$TMP/first.csv" "$TMP/out/model_predictions.csv"

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

# The same predictions through `lmmiqa fit` + `lmmiqa score --own-score`, bit
# for bit: split k's model trained as eval trains it (split k of its
# splits.json, fit seed S + k - 1 with S = --seed 1, 1 epoch, 2 patches, one
# OpenBLAS thread, the trainer's defaults otherwise), its own score of the
# split's test images (model_predictions.csv's rows) mapped to MOS as eval
# maps it: lo + score * (hi - lo), the range in eval's fit record.
if /usr/bin/python3 -c 'import json' 2>/dev/null; then
    for k in 1 2; do
        "$CLI" fit --extractor cnniqa --dataset "$TMP/sub.csv" --image-root "$LIVEC" \
            --split-file "$TMP/out/splits.json" --split "$k" --epochs 1 --patches 2 \
            --seed "$k" --threads 1 --out "$TMP/fit-$k.safetensors" -q 2>"$TMP/err"
        check "fit split $k exit 0" test $? -eq 0 || cat "$TMP/err"
        awk -F, -v k="$k" -v root="$LIVEC/" 'NR > 1 && $2 == k { print root $3 }' \
            "$TMP/out/model_predictions.csv" >"$TMP/test-$k.txt"
        "$CLI" score --own-score cnniqa --weights "cnniqa=$TMP/fit-$k.safetensors" \
            --format json -o "$TMP/own-$k.json" "@$TMP/test-$k.txt" 2>"$TMP/err"
        check "score --own-score split $k exit 0" test $? -eq 0 || cat "$TMP/err"
        check "split $k: fit + score --own-score = eval's model_predictions.csv, bit for bit" \
            /usr/bin/python3 -c "
import csv, json
fit = json.load(open('$TMP/out/runs/cnniqa/split-$k.fit.json'))
lo, hi = fit['mos_min'], fit['mos_max']
root = '$LIVEC/'
own = json.load(open('$TMP/own-$k.json'))
assert own['model']['kind'] == 'own-score', own['model']
got = {e['image'][len(root):]: lo + e['score'] * (hi - lo) for e in own['images']}
want = {r['image']: float(r['pred']) for r in csv.DictReader(open('$TMP/out/model_predictions.csv'))
        if r['split'] == '$k'}
assert len(want) == 6 and got.keys() == want.keys(), (sorted(got), sorted(want))
bad = [(i, got[i], want[i]) for i in want if got[i] != want[i]]
assert not bad, bad
"
    done
fi
exit $fail
