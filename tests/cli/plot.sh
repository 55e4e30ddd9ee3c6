#!/bin/bash
# tests/cli/plot.sh - `lmmiqa plot scatter|trend` on small CSVs shaped like
# `lmmiqa eval` output: files of each format with their magic bytes, series
# and split selection (point counts, legend metrics equal to `lmmiqa
# metrics` on the same rows), trend from feature specs and from explicit
# columns, and exit codes for a bad column, a bad extension, bad cells,
# duplicate trend rows, no matching rows, an unwritable output and usage
# errors. Then, where ../shared is present, the same on real `lmmiqa eval`
# output (60 LIVE Challenge images, BRISQUE, 2 splits).
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
magic() { # file, expected first bytes (printf format)
    local want
    want=$(printf "$2" | od -An -tx1 | tr -d ' \n')
    [ -s "$1" ] && [ "$(head -c $((${#want} / 2)) "$1" | od -An -tx1 | tr -d ' \n')" = "$want" ]
}

# predictions.csv as `lmmiqa eval` writes it: features,split,image,mos,pred
awk 'BEGIN {
    print "features,split,image,mos,pred";
    n = split("hps hps+brisque hps+cnniqa hps+metaiqa", specs, " ");
    for (s = 1; s <= n; s++)
        for (k = 1; k <= 2; k++)
            for (i = 0; i < 30; i++) {
                mos = 5 + 3 * i;
                pred = mos + ((i * 7 + s * 3 + k) % 11 - 5) * (5 - s);
                printf "%s,%d,img%d.bmp,%.2f,%.2f\n", specs[s], k, i, mos, pred;
            }
}' >"$TMP/pred.csv"

# scatter, PNG
out=$("$CLI" plot scatter "$TMP/pred.csv" --series features --split split --split-value 2 \
    --title "HPS validation" --out "$TMP/scatter.png")
check "scatter exit 0" test $? -eq 0
check "scatter PNG magic" magic "$TMP/scatter.png" '\x89PNG\r\n\x1a\n'
check "scatter four series" test "$(grep -c 'points' <<<"$out")" -eq 4
check "scatter split selects 30 points each" test "$(grep -c $'\t30 points\t' <<<"$out")" -eq 4
check "scatter series order" test "$(head -n1 <<<"$out" | cut -f1)" = hps
# the legend's PLCC is the PLCC of exactly those rows
awk -F, 'NR == 1 || ($1 == "hps+brisque" && $2 == 2)' "$TMP/pred.csv" >"$TMP/one.csv"
want=$("$CLI" metrics "$TMP/one.csv" | awk '$1 == "PLCC" && NF == 2 { printf "%.4f", $2 }')
got=$(awk -F'\t' '$1 == "hps+brisque" { sub("PLCC ", "", $3); print $3 }' <<<"$out")
check "scatter PLCC = lmmiqa metrics ($got vs $want)" test -n "$want" -a "$got" = "$want"

# PDF and SVG, --only order and --label, --where
out=$("$CLI" plot scatter "$TMP/pred.csv" --series features --only hps+metaiqa,hps \
    --label hps=HPS --where split=1.0 --range 0:100 --out "$TMP/scatter.pdf")
check "scatter pdf exit 0" test $? -eq 0
check "scatter PDF magic" magic "$TMP/scatter.pdf" '%%PDF-'
check "only: two series, in the given order" test "$(cut -f1 <<<"$out" | tr '\n' ' ')" = "hps+metaiqa HPS "
"$CLI" plot scatter "$TMP/pred.csv" --out "$TMP/all.svg" >"$TMP/all.txt"
check "scatter svg exit 0" test $? -eq 0
check "scatter SVG magic" magic "$TMP/all.svg" '<?xml'
check "one series of all rows" test "$(cat "$TMP/all.txt" | cut -f2)" = "240 points"

# results.csv as `lmmiqa eval` writes it; trend from feature specs
cat >"$TMP/results.csv" <<'EOF'
features,head,splits,plcc_mean,plcc_std,srocc_mean,srocc_std
brisque,linear,10,0.5071,0.05,0.4846,0.052
hps,mlp,10,0.8290,0.02,0.8201,0.02
hps+brisque,mlp,10,0.8529,0.02,0.8430,0.02
hps+cnniqa,mlp,10,0.8602,0.02,0.8500,0.02
hps+metaiqa,mlp,10,0.8503,0.02,0.8499,0.02
clip-vit-b16,mlp,10,0.8115,0.02,0.8000,0.02
clip-vit-b16+brisque,mlp,10,0.8520,0.02,0.8401,0.02
clip-vit-b16+metaiqa,mlp,10,0.8702,0.02,0.8650,0.02
EOF
err=$("$CLI" plot trend "$TMP/results.csv" --spec features --y plcc_mean --y-label PLCC \
    --out "$TMP/trend.png" 2>&1)
check "trend --spec exit 0" test $? -eq 0
check "trend PNG magic" magic "$TMP/trend.png" '\x89PNG\r\n\x1a\n'
check "trend 2 lines x 4 categories" grep -q '2 lines x 4 categories' <<<"$err"
check "trend baseline left out" grep -q "'brisque' has no model part" <<<"$err"
check "trend gap noted" grep -q 'no value for clip-vit-b16 at Orig+CNNIQA' <<<"$err"

# trend from explicit columns, with an order
cat >"$TMP/table.csv" <<'EOF'
model,case,srocc
CLIP,Orig,0.80
CLIP,Orig+Meta,0.86
ALIGN,Orig+Meta,0.83
ALIGN,Orig,0.77
EOF
err=$("$CLI" plot trend "$TMP/table.csv" --x case --line model --y srocc \
    --x-order Orig,Orig+Meta --out "$TMP/trend.svg" 2>&1)
check "trend columns exit 0" test $? -eq 0
check "trend SVG magic" magic "$TMP/trend.svg" '<?xml'
check "trend 2 lines x 2 categories" grep -q '2 lines x 2 categories' <<<"$err"

# bad column: exit 1, message lists the columns; nothing written
err=$("$CLI" plot scatter "$TMP/pred.csv" --mos score --out "$TMP/bad.png" 2>&1 >/dev/null)
check "bad column exit 1" test $? -eq 1
check "bad column message" grep -q "no MOS column 'score' (columns: features, split, image, mos, pred)" <<<"$err"
check "bad column: no file" test ! -e "$TMP/bad.png"
"$CLI" plot trend "$TMP/table.csv" --x case --line model --y plcc --out "$TMP/bad.png" 2>/dev/null
check "trend bad column exit 1" test $? -eq 1
"$CLI" plot scatter "$TMP/pred.csv" --series feature --out "$TMP/bad.png" 2>/dev/null
check "bad series column exit 1" test $? -eq 1

# bad extension: usage error, nothing written
err=$("$CLI" plot scatter "$TMP/pred.csv" --out "$TMP/fig.jpg" 2>&1 >/dev/null)
check "bad extension exit 2" test $? -eq 2
check "bad extension message" grep -q '.png, .pdf or .svg' <<<"$err"
check "bad extension: no file" test ! -e "$TMP/fig.jpg"
"$CLI" plot trend "$TMP/table.csv" --x case --line model --y srocc --out "$TMP/fig" 2>/dev/null
check "no extension exit 2" test $? -eq 2

# bad data
printf 'mos,pred\n1,2\n2,abc\n3,4\n' >"$TMP/cell.csv"
err=$("$CLI" plot scatter "$TMP/cell.csv" --out "$TMP/bad.png" 2>&1 >/dev/null)
check "bad cell exit 1" test $? -eq 1
check "bad cell message names line and column" grep -q "cell.csv:3: column 'pred'" <<<"$err"
printf 'mos,pred\n' >"$TMP/empty.csv"
"$CLI" plot scatter "$TMP/empty.csv" --out "$TMP/bad.png" 2>/dev/null
check "no rows exit 1" test $? -eq 1
err=$("$CLI" plot scatter "$TMP/pred.csv" --where split=7 --out "$TMP/bad.png" 2>&1 >/dev/null)
check "no matching rows exit 1" test $? -eq 1
check "no matching rows message" grep -q 'no rows match' <<<"$err"
printf 'model,case,srocc\nA,x,0.5\nA,x,0.6\n' >"$TMP/dup.csv"
err=$("$CLI" plot trend "$TMP/dup.csv" --x case --line model --y srocc --out "$TMP/bad.png" 2>&1)
check "duplicate trend row exit 1" test $? -eq 1
check "duplicate trend row message" grep -q 'lines 2 and 3 both give A at x' <<<"$err"
check "bad data: no file" test ! -e "$TMP/bad.png"
"$CLI" plot scatter "$TMP/pred.csv" --out "$TMP/no/such/dir/fig.png" 2>/dev/null
check "unwritable output exit 1" test $? -eq 1

# usage errors
"$CLI" plot scatter "$TMP/pred.csv" 2>/dev/null
check "missing --out exit 2" test $? -eq 2
"$CLI" plot pie "$TMP/pred.csv" --out "$TMP/x.png" 2>/dev/null
check "unknown chart exit 2" test $? -eq 2
"$CLI" plot scatter "$TMP/pred.csv" --split split --out "$TMP/x.png" 2>/dev/null
check "--split without --split-value exit 2" test $? -eq 2
"$CLI" plot trend "$TMP/results.csv" --spec features --x case --y plcc_mean --out "$TMP/x.png" 2>/dev/null
check "--spec with --x exit 2" test $? -eq 2
"$CLI" plot scatter "$TMP/pred.csv" --range 5:1 --out "$TMP/x.png" 2>/dev/null
check "bad --range exit 2" test $? -eq 2
"$CLI" plot scatter "$TMP/pred.csv" --bogus --out "$TMP/x.png" 2>/dev/null
check "unknown option exit 2" test $? -eq 2
"$CLI" plot --help >/dev/null
check "--help exit 0" test $? -eq 0
"$CLI" plot scatter --help | grep -q 'split-value'
check "scatter --help" test $? -eq 0

# End to end on real `lmmiqa eval` output (its actual column names): a
# 60-image LIVE Challenge subset, BRISQUE, 2 splits. Skipped without the data.
SHARED=${LMMIQA_SHARED_DIR:-${LMMIQA_SOURCE_DIR:-.}/../shared}
LIVEC=$SHARED/data/livec
if [ -f "$LIVEC/livec.csv" ]; then
    { echo "image,mos"; sed -n "2,61p" "$LIVEC/livec.csv" | cut -d, -f1,2; } >"$TMP/sub.csv"
    "$CLI" eval --dataset "$TMP/sub.csv" --image-root "$LIVEC" --store "$TMP/store" \
        --features brisque --splits 2 --seed 1 --out "$TMP/ev" --quiet --jobs 2 >/dev/null 2>&1
    check "eval for plots exit 0" test $? -eq 0
    out=$("$CLI" plot scatter "$TMP/ev/predictions.csv" --series features --split split \
        --split-value 2 --range 0:100 --out "$TMP/ev_scatter.png" 2>/dev/null)
    check "scatter of eval predictions" test $? -eq 0 -a -s "$TMP/ev_scatter.png"
    check "scatter: the 12 test images of split 2" grep -q $'^brisque\t12 points\t' <<<"$out"
    # the legend's PLCC is the split's PLCC in per_split.csv
    want=$(awk -F, 'NR > 1 && $2 == 2 { printf "%.4f", $6 }' "$TMP/ev/per_split.csv")
    got=$(awk -F'\t' '{ sub("PLCC ", "", $3); print $3 }' <<<"$out")
    check "scatter PLCC = per_split.csv PLCC ($got vs $want)" test -n "$want" -a "$got" = "$want"
    "$CLI" plot trend "$TMP/ev/per_split.csv" --x split --line features --y srocc \
        --out "$TMP/ev_trend.pdf" 2>/dev/null
    check "trend of eval per_split.csv" test $? -eq 0 -a -s "$TMP/ev_trend.pdf"
    "$CLI" plot trend "$TMP/ev/results.csv" --x head --line features --y plcc_mean \
        --out "$TMP/ev_results.svg" 2>/dev/null
    check "trend of eval results.csv" test $? -eq 0 -a -s "$TMP/ev_results.svg"
else
    echo "SKIP end-to-end part: $LIVEC not found"
fi

exit $fail
