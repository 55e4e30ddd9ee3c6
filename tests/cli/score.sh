#!/bin/bash
# tests/cli/score.sh - `lmmiqa score`: the classic BRISQUE SVR
# (../shared/models/brisque-live), the default model built into the binary
# (run from another directory), a model written by `lmmiqa train`, a bad image
# among good ones, a CNNIQA's own score (weights of `lmmiqa fit`), and usage
# errors. Skips without the shared data.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
need_livec models/brisque-live/allmodel
BL=$SHARED/models/brisque-live
case "$CLI" in /*) ;; *) CLI=$PWD/$CLI ;; esac
in_range() { # csv file, lo, hi: every score within [lo, hi]
    awk -F, -v lo="$2" -v hi="$3" 'NR > 1 { n++; if ($2 !~ /^-?[0-9.]+$/ || $2 < lo || $2 > hi) exit 1 }
        END { exit n ? 0 : 1 }' "$1"
}
A=$LIVEC/Images/100.png
B=$LIVEC/Images/1000.JPG

"$CLI" score --help >"$TMP/help"
check "--help exit 0" test $? -eq 0
check "--help documents exit codes" grep -q "Exit codes" "$TMP/help"
"$CLI" score --brisque-model "$BL/allmodel" "$A" >/dev/null 2>&1
check "model without range exit 2" test $? -eq 2
"$CLI" score --bogus "$A" >/dev/null 2>&1
check "unknown option exit 2" test $? -eq 2
"$CLI" score >/dev/null 2>&1
check "no images exit 2" test $? -eq 2

# Classic BRISQUE: libsvm model + range.
"$CLI" score --brisque-model "$BL/allmodel" --brisque-range "$BL/allrange" \
    "$BL/testimage1.bmp" "$BL/testimage2.bmp" >"$TMP/b.csv" 2>"$TMP/err"
check "brisque svr exit 0" test $? -eq 0
check "brisque svr header" test "$(head -1 "$TMP/b.csv")" = "image,score"
check "brisque svr 2 rows" test "$(wc -l <"$TMP/b.csv")" -eq 3
check "brisque svr scores plausible" in_range "$TMP/b.csv" -20 120
"$CLI" score --brisque-model "$BL/allmodel" --brisque-range "$BL/allrange" --matlab-io \
    "$BL/testimage1.bmp" "$BL/testimage2.bmp" >"$TMP/bm.csv" 2>/dev/null
check "matlab-io within 0.05 of full precision" paste -d, "$TMP/b.csv" "$TMP/bm.csv" |
    awk -F, 'NR > 1 { d = $2 - $4; if (d < -0.05 || d > 0.05) exit 1 }'
"$CLI" score --brisque-model "$TMP/nosuch" --brisque-range "$BL/allrange" "$A" >/dev/null 2>"$TMP/err"
check "missing svr model exit 1" test $? -eq 1
check "missing svr model named" grep -q nosuch "$TMP/err"

# The default model, from another directory.
(cd "$TMP" && "$CLI" score "$A" "$B") >"$TMP/d.csv" 2>"$TMP/err"
check "default model exit 0" test $? -eq 0
check "default model header" test "$(head -1 "$TMP/d.csv")" = "image,score"
check "default model 2 rows" test "$(wc -l <"$TMP/d.csv")" -eq 3
check "default model on the 0..100 MOS scale" in_range "$TMP/d.csv" 0 100

# Folders, @list files and JSON give the same scores as the files themselves.
mkdir -p "$TMP/dir"
cp "$A" "$TMP/dir/a.png"
cp "$B" "$TMP/dir/b.JPG"
echo "not an image" >"$TMP/dir/notes.txt"
"$CLI" score "$TMP/dir/a.png" "$TMP/dir/b.JPG" >"$TMP/f.csv" 2>/dev/null
"$CLI" score "$TMP/dir" >"$TMP/dir.csv" 2>"$TMP/err"
check "folder exit 0" test $? -eq 0
check "folder: its images in name order, same scores" cmp -s "$TMP/f.csv" "$TMP/dir.csv"
printf '# two images\n%s\n\n%s\n' "$TMP/dir/a.png" "$TMP/dir/b.JPG" >"$TMP/list.txt"
"$CLI" score @"$TMP/list.txt" >"$TMP/list.csv" 2>"$TMP/err"
check "@list exit 0" test $? -eq 0
check "@list: same scores" cmp -s "$TMP/f.csv" "$TMP/list.csv"
"$CLI" score @"$TMP/nolist.txt" >/dev/null 2>"$TMP/err"
check "missing @list exit 1" test $? -eq 1
check "missing @list named" grep -q nolist.txt "$TMP/err"
"$CLI" score --format json "$TMP/dir/a.png" "$TMP/dir/b.JPG" >"$TMP/s.json" 2>"$TMP/err"
check "json exit 0" test $? -eq 0
check "json: model, scale and direction" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
m = d["model"]
assert m["name"] == "default-nss-livec" and m["features"] == "nss", m
assert m["scale"] == {"min": 0, "max": 100, "higher_is_better": True}, m["scale"]
assert len(m["sha256"]) == 64
rows = [l.split(",") for l in open(sys.argv[2]).read().split("\n")[1:] if l]
assert [r[0] for r in rows] == [e["image"] for e in d["images"]]
for r, e in zip(rows, d["images"]):
    assert abs(float(r[1]) - e["score"]) <= 5e-7, (r, e)
' "$TMP/s.json" "$TMP/f.csv"
"$CLI" score --format xml "$A" >/dev/null 2>&1
check "bad --format exit 2" test $? -eq 2
"$CLI" score -o "$TMP/o.csv" "$TMP/dir/a.png" "$TMP/dir/b.JPG" 2>/dev/null
check "-o writes the file" cmp -s "$TMP/f.csv" "$TMP/o.csv"
check "-o leaves no temporary file" test -z "$(ls "$TMP" | grep 'o.csv.tmp')"

# A bad image among good ones: reported, the others scored, exit 1.
printf 'GIF89a nonsense' >"$TMP/bad.gif"
"$CLI" score "$A" "$TMP/bad.gif" "$B" >"$TMP/d2.csv" 2>"$TMP/err"
check "bad image exit 1" test $? -eq 1
check "bad image named" grep -q bad.gif "$TMP/err"
check "good images still scored" test "$(wc -l <"$TMP/d2.csv")" -eq 3
check "same scores as alone" cmp -s "$TMP/d.csv" "$TMP/d2.csv"

# --model: a model written by `lmmiqa train` on 20 LIVE images.
{
    echo "image,mos"
    sed -n '2,21p' "$LIVEC/livec.csv" | cut -d, -f1,2
} >"$TMP/twenty.csv"
"$CLI" train --features brisque --dataset "$TMP/twenty.csv" --image-root "$LIVEC" \
    --store "$TMP/store" --epochs 5 --out "$TMP/m.safetensors" --quiet 2>"$TMP/err"
check "train exit 0" test $? -eq 0
check "model written" test -s "$TMP/m.safetensors"
check "model metadata names the features" grep -aq '\\"features\\":\\"brisque\\"' "$TMP/m.safetensors"
"$CLI" score --model "$TMP/m.safetensors" "$A" "$B" >"$TMP/m.csv" 2>"$TMP/err"
check "score --model exit 0" test $? -eq 0
check "score --model 2 rows" test "$(wc -l <"$TMP/m.csv")" -eq 3
check "score --model on the 0..100 scale" in_range "$TMP/m.csv" 0 100
"$CLI" score --model "$TMP/none.safetensors" "$A" >/dev/null 2>"$TMP/err"
check "missing model exit 1" test $? -eq 1
check "missing model named" grep -q none.safetensors "$TMP/err"
"$CLI" score --model "$BL/allmodel" "$A" >/dev/null 2>"$TMP/err"
check "not a model exit 1" test $? -eq 1

# --own-score: a tiny CNNIQA from `lmmiqa fit`, scored by its own prediction.
"$CLI" fit --extractor cnniqa --dataset "$TMP/twenty.csv" --image-root "$LIVEC" --epochs 1 \
    --patches 2 --fc 8 --threads 1 --out "$TMP/c.safetensors" -q 2>"$TMP/err"
check "fit cnniqa exit 0" test $? -eq 0 || cat "$TMP/err"
W=cnniqa=$TMP/c.safetensors
"$CLI" score --own-score cnniqa --weights "$W" --format json "$A" "$B" >"$TMP/own.json" 2>"$TMP/err"
check "score --own-score exit 0" test $? -eq 0 || cat "$TMP/err"
check "own score json: kind, name, features, scale, weights' SHA-256" python3 -c '
import hashlib, json, sys
d = json.load(open(sys.argv[1]))
m = d["model"]
assert m["kind"] == "own-score" and m["name"] == "cnniqa-own-score", m
assert m["features"] == "cnniqa" and m["dim"] == 8, m
assert m["scale"] == {"min": 0, "max": 1, "higher_is_better": True}, m["scale"]
assert m["sha256"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
assert len(d["images"]) == 2 and all(isinstance(e["score"], float) for e in d["images"])
' "$TMP/own.json" "$TMP/c.safetensors"
"$CLI" score --help | grep -q -- "--own-score E"
check "--help documents --own-score" test $? -eq 0
"$CLI" score --own-score cnniqa "$A" >/dev/null 2>"$TMP/err"
check "--own-score without weights exit 2" test $? -eq 2
check "... says so" grep -q -- "--weights cnniqa=FILE" "$TMP/err"
"$CLI" score --own-score brisque --weights "brisque=$TMP/c.safetensors" "$A" >/dev/null 2>"$TMP/err"
check "--own-score of an untrained extractor exit 2" test $? -eq 2
check "... named" grep -q "'brisque' is not a trained model" "$TMP/err"
for other in "--model $TMP/m.safetensors" "--zero-shot clip" \
    "--brisque-model $BL/allmodel --brisque-range $BL/allrange"; do
    # shellcheck disable=SC2086 # the option and its value are two words
    "$CLI" score --own-score cnniqa --weights "$W" $other "$A" >/dev/null 2>"$TMP/err"
    check "--own-score with ${other%% *} exit 2" test $? -eq 2
done
"$CLI" score --own-score cnniqa --weights "cnniqa=$TMP/none.safetensors" "$A" >/dev/null 2>"$TMP/err"
check "--own-score, missing weight file exit 1" test $? -eq 1
check "... named" grep -q none.safetensors "$TMP/err"
exit $fail
