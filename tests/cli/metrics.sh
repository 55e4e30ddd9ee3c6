#!/bin/bash
# tests/cli/metrics.sh - `lmmiqa metrics`: table and JSON output on the
# scipy-checked golden data (tests/data/metrics), undefined metrics with
# reasons, and exit codes for bad input (missing file/column, bad cell,
# usage errors).
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
SRC=${LMMIQA_SOURCE_DIR:?}

# table output (golden: tools/ref/metrics_ref.py via scipy)
out=$("$CLI" metrics "$SRC/tests/data/metrics/realistic.csv" --pred pred --mos mos)
check "table exit 0" test $? -eq 0
check "table n" grep -Eq '^n +300$' <<<"$out"
check "table PLCC" grep -Eq '^PLCC +0\.946877$' <<<"$out"
check "table SROCC" grep -Eq '^SROCC +0\.953393$' <<<"$out"
check "table KRCC" grep -Eq '^KRCC +0\.805128$' <<<"$out"
check "table RMSE" grep -Eq '^RMSE +58\.650662$' <<<"$out"
check "table PLCC logistic" grep -Eq '^PLCC \(logistic\) +0\.962107$' <<<"$out"

# JSON output
out=$("$CLI" metrics "$SRC/tests/data/metrics/n3.csv" --json)
check "json exit 0" test $? -eq 0
check "json plcc" grep -q '"plcc":[[:space:]]*0.7559289460184' <<<"$out"
check "json krcc" grep -q '"krcc":[[:space:]]*0.333333333333333' <<<"$out"
check "json undefined logistic is null" grep -q '"plcc_logistic":[[:space:]]*null' <<<"$out"
check "json reason" grep -q 'needs at least 5' <<<"$out"
if [ -x /usr/bin/python3 ]; then
    check "json parses" /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["n"] == 3' <<<"$out"
fi

# undefined metrics are reported, not failures
printf 'p,m\n1,2\n1,3\n1,4\n' >"$TMP/const.csv"
out=$("$CLI" metrics "$TMP/const.csv" --pred p --mos=m)
check "constant column exit 0" test $? -eq 0
check "constant column undefined" grep -Eq '^PLCC +undefined \(.*predictions are constant' <<<"$out"
check "constant column RMSE defined" grep -Eq '^RMSE +2\.160247$' <<<"$out"

# bad input: exit 1 with a message naming file/column/line
err=$("$CLI" metrics "$TMP/nope.csv" 2>&1 >/dev/null)
check "missing file exit 1" test $? -eq 1
check "missing file message" grep -q "nope.csv" <<<"$err"
err=$("$CLI" metrics "$TMP/const.csv" --pred score --mos m 2>&1 >/dev/null)
check "missing column exit 1" test $? -eq 1
check "missing column message" grep -q "no column 'score' (columns: 'p', 'm')" <<<"$err"
printf 'pred,mos\n1,2\n2,3\n3,abc\n' >"$TMP/bad.csv"
err=$("$CLI" metrics "$TMP/bad.csv" 2>&1 >/dev/null)
check "bad cell exit 1" test $? -eq 1
check "bad cell message" grep -q "bad.csv:4: column 'mos': 'abc' is not a number" <<<"$err"
printf 'pred,mos\n1,2\n"2,3\n' >"$TMP/quote.csv"
"$CLI" metrics "$TMP/quote.csv" 2>/dev/null >/dev/null
check "unterminated quote exit 1" test $? -eq 1

# usage errors: exit 2
"$CLI" metrics 2>/dev/null
check "no file exit 2" test $? -eq 2
"$CLI" metrics "$TMP/bad.csv" --frobnicate 2>/dev/null
check "unknown option exit 2" test $? -eq 2
"$CLI" metrics "$TMP/bad.csv" --pred 2>/dev/null
check "missing option value exit 2" test $? -eq 2
out=$("$CLI" metrics --help)
check "help exit 0" test $? -eq 0
check "help text" grep -q "usage: lmmiqa metrics" <<<"$out"

exit $fail
