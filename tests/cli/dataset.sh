#!/bin/bash
# tests/cli/dataset.sh - `lmmiqa dataset info|splits` on the LIVE Challenge
# copy in ../shared (skips with 77 without it): text and JSON info, splits
# written and sized as asked, and exit codes for a bad path, a broken label
# file and usage errors.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
SHARED=${LMMIQA_SHARED_DIR:-}
if [ -z "$SHARED" ] || [ ! -d "$SHARED/data/livec" ]; then
    echo "SKIP: ../shared not found (set LMMIQA_SHARED_DIR)"
    exit 77
fi

# info by name (resolved through LMMIQA_SHARED_DIR)
out=$(cd "$TMP" && LMMIQA_DATA_DIR= "$CLI" dataset info livec)
check "info exit 0" test $? -eq 0
check "info name" grep -Eq '^name: +livec$' <<<"$out"
check "info format" grep -Eq '^format: +livec-mat$' <<<"$out"
check "info size" grep -Eq '^size: +1162 images$' <<<"$out"
check "info MOS" grep -Eq '^MOS: +3\.42 \.\. 92\.432 observed, nominal scale 0 \.\. 100$' <<<"$out"
check "info std" grep -Eq '^std: +yes$' <<<"$out"
check "info groups" grep -Eq '^groups: +none$' <<<"$out"
check "info missing" grep -Eq '^missing: +0 image files$' <<<"$out"
check "info png note" grep -q '535 image names ending in .bmp resolved' <<<"$out"

# JSON; a wrong images root makes every image missing
out=$("$CLI" dataset info "$SHARED/data/livec/livec.csv" --images-root "$TMP" --json)
check "json exit 0" test $? -eq 0
check "json format" grep -q '"format":[[:space:]]*"livec-csv"' <<<"$out"
check "json size" grep -q '"size":[[:space:]]*1162' <<<"$out"
check "json missing" grep -q '"missing_images":[[:space:]]*1162' <<<"$out"
check "json valid" /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["has_std"] is True' <<<"$out"

# splits: 10 x 80/20 with validation carved from train
"$CLI" dataset splits livec --splits 10 --seed 7 --val 0.1 --out "$TMP/s.json" >/dev/null
check "splits exit 0" test $? -eq 0
check "splits content" /usr/bin/python3 - "$TMP/s.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "lmmiqa-splits" and d["n"] == 1162 and d["seed"] == 7
assert len(d["splits"]) == 10
for s in d["splits"]:
    a, b, c = set(s["train"]), set(s["val"]), set(s["test"])
    assert len(c) == 232 and len(b) == 93 and len(a) == 837
    assert not (a & b or a & c or b & c) and (a | b | c) == set(range(1162))
EOF
"$CLI" dataset splits livec --splits 10 --seed 7 --val 0.1 --out "$TMP/s2.json" >/dev/null
check "splits reproducible" cmp -s "$TMP/s.json" "$TMP/s2.json"

# bad path, broken file, usage errors
"$CLI" dataset info "$TMP/no/such/labels.csv" 2>"$TMP/err"
check "bad path exit 1" test $? -eq 1
check "bad path message" grep -q 'no/such/labels.csv' "$TMP/err"
printf 'image,mos\na.png,1\nb.png,oops\n' >"$TMP/bad.csv"
"$CLI" dataset info "$TMP/bad.csv" 2>"$TMP/err"
check "bad number exit 1" test $? -eq 1
check "bad number names line" grep -q 'bad.csv:3' "$TMP/err"
"$CLI" dataset info 2>/dev/null
check "no dataset exit 2" test $? -eq 2
"$CLI" dataset splits livec 2>/dev/null
check "no --out exit 2" test $? -eq 2
"$CLI" dataset frobnicate livec 2>/dev/null
check "unknown subcommand exit 2" test $? -eq 2
"$CLI" dataset splits livec --grouped 2 --out "$TMP/g.json" 2>"$TMP/err"
check "grouped without groups exit 1" test $? -eq 1
"$CLI" dataset --help >/dev/null
check "help exit 0" test $? -eq 0

exit $fail
