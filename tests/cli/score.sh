#!/bin/bash
# tests/cli/score.sh - `lmmiqa score`: the classic BRISQUE SVR
# (../shared/models/brisque-live), the default model built into the binary
# (run from another directory), a model written by `lmmiqa train`, a bad image
# among good ones, and usage errors. Skips without the shared data.
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
exit $fail
