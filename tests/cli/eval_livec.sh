#!/bin/bash
# tests/cli/eval_livec.sh - end-to-end `lmmiqa eval` on a fixed subset of LIVE
# Challenge (the first 60 rows of livec.csv) with 2 random splits: the table,
# CSV, JSON, per-split, predictions and splits outputs; a re-run reuses both
# finished splits and reproduces the results exactly; `--split-file` with the
# saved splits gives the same numbers. The full 10-split run on all 1162
# images is scripts/reproduce-livec.sh, not a test. Skips without the data.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
need_livec
N=60
{
    echo "image,mos"
    sed -n "2,$((N + 1))p" "$LIVEC/livec.csv" | cut -d, -f1,2
} >"$TMP/sub.csv"
ev() { "$CLI" eval --dataset "$TMP/sub.csv" --image-root "$LIVEC" --store "$TMP/store" \
    --features brisque --seed 3 "$@"; }

ev --splits 2 --out "$TMP/out" >"$TMP/table.md" 2>"$TMP/err"
check "eval exit 0" test $? -eq 0
check "table header" grep -q '^| Features | Head | sub PLCC↑ (Std) | sub SRCC↑ (Std) |$' "$TMP/table.md"
check "table row: brisque, linear head" grep -Eq '^\| brisque \| linear \| 0\.[0-9]{4} \(0\.[0-9]{3}\) \| 0\.[0-9]{4} \(0\.[0-9]{3}\) \|$' "$TMP/table.md"
check "stdout is results.md" cmp -s "$TMP/table.md" "$TMP/out/results.md"
for f in results.csv results.json per_split.csv predictions.csv splits.json \
    runs/brisque/split-1.json runs/brisque/split-2.json; do
    check "$f written" test -s "$TMP/out/$f"
done
check "per_split has 2 splits" test "$(wc -l <"$TMP/out/per_split.csv")" -eq 3
check "predictions: 2 x 12 test rows" test "$(wc -l <"$TMP/out/predictions.csv")" -eq 25
check "predictions header" test "$(head -1 "$TMP/out/predictions.csv")" = "features,split,image,mos,pred"
check "results.csv header" grep -q '^features,head,splits,plcc_mean,plcc_std,srocc_mean,srocc_std,krcc_mean,krcc_std,rmse_mean,rmse_std$' "$TMP/out/results.csv"
# BRISQUE carries real signal even on 48 training images.
check "positive SROCC" awk -F, 'NR == 2 { exit !($6 > 0.3) }' "$TMP/out/results.csv"
if /usr/bin/python3 -c 'import json' 2>/dev/null; then
    check "results.json parses" /usr/bin/python3 -c "
import json; d = json.load(open('$TMP/out/results.json'))
r = d['results'][0]; assert r['features'] == 'brisque' and len(r['per_split']) == 2
s = json.load(open('$TMP/out/splits.json')); assert len(s['splits']) == 2 and s['n'] == $N"
fi

# Re-run: both splits reused, identical results.
cp "$TMP/out/results.csv" "$TMP/first.csv"
ev --splits 2 --out "$TMP/out" >/dev/null 2>"$TMP/err"
check "re-run exit 0" test $? -eq 0
check "re-run reuses 2 splits" test "$(grep -c '(reused)' "$TMP/err")" -eq 2
check "re-run same results" cmp -s "$TMP/first.csv" "$TMP/out/results.csv"

# The saved splits, imported: same numbers in a fresh folder.
ev --split-file "$TMP/out/splits.json" --out "$TMP/out2" >/dev/null 2>"$TMP/err"
check "split-file exit 0" test $? -eq 0
check "split-file same results" cmp -s "$TMP/first.csv" "$TMP/out2/results.csv"

# Usage errors.
"$CLI" eval --dataset "$TMP/sub.csv" --out "$TMP/x" >/dev/null 2>&1
check "missing --features exit 2" test $? -eq 2
"$CLI" eval --dataset "$TMP/sub.csv" --features 'brisque+nosuch' --out "$TMP/x" >/dev/null 2>"$TMP/err"
check "unknown extractor exit 2" test $? -eq 2
check "unknown extractor named" grep -q nosuch "$TMP/err"
"$CLI" eval --dataset "$TMP/nosuch.csv" --features brisque --out "$TMP/x" >/dev/null 2>"$TMP/err"
check "missing dataset exit 1" test $? -eq 1
check "missing dataset named" grep -q nosuch.csv "$TMP/err"
exit $fail
