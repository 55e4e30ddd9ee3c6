#!/bin/bash
# tests/cli/eval_cnniqa.sh - `lmmiqa eval` with a trainable extractor: CNNIQA
# is trained per split on that split's training rows only (1 epoch, few
# patches, a small LIVE Challenge subset, 2 splits). Checks: results for
# "cnniqa" and "cnniqa+brisque", per-split weights that differ between splits,
# each fit record's training rows equal to splits.json's train part (and
# disjoint from the test part), per-split stores, a re-run that reuses every
# fit, store and split, and a new --fit-epochs that refits. Skips without
# the data.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
need_livec
N=30
[ -n "${LMMIQA_SANITIZED:-}" ] && N=20
{
    echo "image,mos"
    sed -n "2,$((N + 1))p" "$LIVEC/livec.csv" | cut -d, -f1,2
} >"$TMP/sub.csv"
differ() { ! cmp -s "$1" "$2"; }
ev() { "$CLI" eval --dataset "$TMP/sub.csv" --image-root "$LIVEC" --store "$TMP/store" \
    --features cnniqa,cnniqa+brisque --splits 2 --seed 5 --fit-patches 2 --jobs 2 "$@"; }

ev --fit-epochs 1 --out "$TMP/out" >"$TMP/table.md" 2>"$TMP/err"
check "eval exit 0" test $? -eq 0 || cat "$TMP/err"
check "row: cnniqa" grep -Eq '^\| cnniqa \| mlp \| ' "$TMP/table.md"
check "row: cnniqa+brisque" grep -Eq '^\| cnniqa\+brisque \| mlp \| ' "$TMP/table.md"
for k in 1 2; do
    check "split $k weights" test -s "$TMP/out/runs/cnniqa/split-$k.safetensors"
    check "split $k fit record" test -s "$TMP/out/runs/cnniqa/split-$k.fit.json"
    check "split $k store" test -s "$TMP/out/stores/split-$k/cnniqa.npy"
    check "split $k brisque linked" test -L "$TMP/out/stores/split-$k/brisque.npy"
    check "split $k no checkpoint left" test ! -e "$TMP/out/runs/cnniqa/split-$k.checkpoint.safetensors"
done
check "shared store has no cnniqa" test ! -e "$TMP/store/cnniqa.npy"
check "weights differ between splits" \
    differ "$TMP/out/runs/cnniqa/split-1.safetensors" "$TMP/out/runs/cnniqa/split-2.safetensors"
check "features differ between splits" \
    differ "$TMP/out/stores/split-1/cnniqa.npy" "$TMP/out/stores/split-2/cnniqa.npy"
check "per_split: 2 specs x 2 splits" test "$(wc -l <"$TMP/out/per_split.csv")" -eq 5
if /usr/bin/python3 -c 'import json' 2>/dev/null; then
    check "training rows = the splits' train parts, never test" /usr/bin/python3 -c "
import json
s = json.load(open('$TMP/out/splits.json'))['splits']
assert len(s) == 2
for k, sp in enumerate(s, 1):
    r = json.load(open('$TMP/out/runs/cnniqa/split-%d.fit.json' % k))
    assert r['complete'] and r['split'] == k and r['extractor'] == 'cnniqa', r
    assert r['train_rows'] == sp['train'], (r['train_rows'], sp['train'])
    assert not set(r['train_rows']) & set(sp['test']) and not set(r['train_rows']) & set(sp.get('val', []))
    assert len(r['train_images']) == len(sp['train'])
"
fi

# Re-run: every fit, store and split reused; identical results.
cp "$TMP/out/results.csv" "$TMP/first.csv"
cp "$TMP/out/runs/cnniqa/split-1.safetensors" "$TMP/w1"
start=$(date +%s)
ev --fit-epochs 1 --out "$TMP/out" >/dev/null 2>"$TMP/err"
check "re-run exit 0" test $? -eq 0
check "re-run reuses 4 splits" test "$(grep -c '(reused)' "$TMP/err")" -eq 4
check "re-run reuses both fits" test "$(grep -c 'fitted weights reused' "$TMP/err")" -eq 2
check "re-run trains nothing" test "$(grep -c 'training on' "$TMP/err")" -eq 0
check "re-run same results" cmp -s "$TMP/first.csv" "$TMP/out/results.csv"
check "re-run same weights" cmp -s "$TMP/w1" "$TMP/out/runs/cnniqa/split-1.safetensors"
check "re-run fast" test $(($(date +%s) - start)) -le 10

# Another epoch count: a different fit, refitted and recomputed.
ev --fit-epochs 2 --out "$TMP/out" >/dev/null 2>"$TMP/err"
check "refit exit 0" test $? -eq 0
check "refit recomputes" test "$(grep -c '(reused)' "$TMP/err")" -eq 0
check "refit trains both splits" test "$(grep -c 'training on' "$TMP/err")" -eq 2
check "refit new weights" differ "$TMP/w1" "$TMP/out/runs/cnniqa/split-1.safetensors"
check "refit record" grep -q '"epochs":[[:space:]]*2' "$TMP/out/runs/cnniqa/split-1.fit.json"

"$CLI" eval --dataset "$TMP/sub.csv" --features cnniqa --fit-epochs 0 --out "$TMP/x" \
    >/dev/null 2>&1
check "--fit-epochs 0 exit 2" test $? -eq 2
exit $fail
