#!/bin/bash
# tests/cli/extract.sh - `lmmiqa extract`: CSV header and rows, .npy output
# (read back with numpy when /usr/bin/python3 has it), a bad image among good
# ones (exit 1, the file named, the others still written), a missing file,
# an unknown extractor (exit 2), and dataset mode into a store (a re-run
# reuses every row). Uses a few LIVE Challenge images; skips without them.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
need_livec
A=$LIVEC/Images/100.png
B=$LIVEC/Images/1000.JPG

# --help and usage errors
"$CLI" extract --help >"$TMP/help" 2>&1
check "--help exit 0" test $? -eq 0
check "--help documents exit codes" grep -q "Exit codes" "$TMP/help"
"$CLI" extract --extractor nosuch "$A" >/dev/null 2>"$TMP/err"
check "unknown extractor exit 2" test $? -eq 2
check "unknown extractor named" grep -q "nosuch" "$TMP/err"
"$CLI" extract --extractor brisque --bogus "$A" >/dev/null 2>&1
check "unknown option exit 2" test $? -eq 2
"$CLI" extract --extractor brisque >/dev/null 2>&1
check "no images exit 2" test $? -eq 2
"$CLI" extract --list >"$TMP/list"
check "--list names brisque" grep -qx brisque "$TMP/list"

# CSV to stdout
"$CLI" extract --extractor brisque --output - "$A" "$B" >"$TMP/f.csv" 2>"$TMP/err"
check "csv exit 0" test $? -eq 0
header="image$(for s in 1 2; do printf ',s%d_ggd_alpha,s%d_ggd_sigma2' $s $s; for o in h v d1 d2; do for p in alpha eta l2 r2; do printf ',s%d_%s_%s' $s $o $p; done; done; done)"
check "csv header: brisque.h's feature names" test "$(head -1 "$TMP/f.csv")" = "$header"
check "csv 2 rows" test "$(wc -l <"$TMP/f.csv")" -eq 3
check "csv 37 fields" test "$(awk -F, 'NR>1 {print NF}' "$TMP/f.csv" | sort -u)" = 37
check "csv row names image" grep -q "^$A," "$TMP/f.csv"
check "csv numbers" awk -F, 'NR>1 { for (i = 2; i <= NF; i++) if ($i !~ /^-?[0-9.]+(e[-+][0-9]+)?$/) exit 1 }' "$TMP/f.csv"

# .npy output, same numbers (float32)
"$CLI" extract --extractor brisque --output "$TMP/f.npy" "$A" "$B" 2>"$TMP/err"
check "npy exit 0" test $? -eq 0
check "npy magic" test "$(head -c 6 "$TMP/f.npy" | tail -c 5)" = "NUMPY"
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    check "npy matches csv (numpy)" /usr/bin/python3 - "$TMP/f.npy" "$TMP/f.csv" <<'PY'
import sys, numpy as np
m = np.load(sys.argv[1])
assert m.dtype == np.float32 and m.shape == (2, 36), (m.dtype, m.shape)
rows = [l.rstrip("\n").split(",")[1:] for l in open(sys.argv[2]).readlines()[1:]]
c = np.array(rows, dtype=np.float64).astype(np.float32)
assert np.array_equal(m, c), abs(m - c).max()
PY
fi

# a bad image among good ones: reported, others written, exit 1
printf 'not an image at all' >"$TMP/bad.jpg"
"$CLI" extract --extractor brisque "$A" "$TMP/bad.jpg" "$B" >"$TMP/f2.csv" 2>"$TMP/err"
check "bad image exit 1" test $? -eq 1
check "bad image named" grep -q "bad.jpg" "$TMP/err"
check "good images still written" test "$(wc -l <"$TMP/f2.csv")" -eq 3
check "bad image not in csv" test "$(grep -c bad.jpg "$TMP/f2.csv")" -eq 0
"$CLI" extract --extractor brisque --output "$TMP/f2.npy" "$A" "$TMP/bad.jpg" 2>/dev/null
check "bad image npy exit 1" test $? -eq 1
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    check "bad image npy row is NaN" /usr/bin/python3 -c "
import numpy as np; m = np.load('$TMP/f2.npy'); assert m.shape == (2, 36)
assert np.isfinite(m[0]).all() and np.isnan(m[1]).all()"
fi

# missing file
"$CLI" extract --extractor brisque "$TMP/missing.png" >/dev/null 2>"$TMP/err"
check "missing file exit 1" test $? -eq 1
check "missing file named" grep -q "missing.png" "$TMP/err"

# dataset mode: a 6-image manifest into a store, then a re-run reuses all
{
    echo "image,mos"
    sed -n '2,7p' "$LIVEC/livec.csv" | cut -d, -f1,2
} >"$TMP/six.csv"
"$CLI" extract --extractor brisque --dataset "$TMP/six.csv" --image-root "$LIVEC" \
    --output "$TMP/store" --jobs 2 2>"$TMP/err"
check "dataset exit 0" test $? -eq 0
check "dataset npy" test -s "$TMP/store/brisque.npy"
check "dataset sidecar" grep -q "\"extractor\":[[:space:]]*\"brisque\"" "$TMP/store/brisque.json"
check "sidecar hashes" test "$(grep -c '"sha256"' "$TMP/store/brisque.json")" -eq 6
check "no journal left" test ! -e "$TMP/store/brisque.journal"
check "summary computed 6" grep -q "6 computed" "$TMP/err"
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    imgs=$(sed -n '2,7p' "$TMP/six.csv" | cut -d, -f1 | sed "s|^|$LIVEC/|")
    # shellcheck disable=SC2086
    "$CLI" extract --extractor brisque $imgs >"$TMP/six_features.csv" 2>/dev/null
    check "store matrix = image-mode features, manifest order (numpy)" \
        /usr/bin/python3 - "$TMP/store/brisque.npy" "$TMP/six_features.csv" <<'PY'
import sys, numpy as np
m = np.load(sys.argv[1])
assert m.dtype == np.float32 and m.shape == (6, 36), (m.dtype, m.shape)
rows = [l.rstrip("\n").split(",")[1:] for l in open(sys.argv[2]).readlines()[1:]]
assert np.array_equal(m, np.array(rows, dtype=np.float64).astype(np.float32))
PY
fi
"$CLI" extract --extractor brisque --dataset "$TMP/six.csv" --image-root "$LIVEC" \
    --output "$TMP/store" 2>"$TMP/err"
check "re-run exit 0" test $? -eq 0
check "re-run reuses 6" grep -q "6 reused, 0 computed" "$TMP/err"
exit $fail
