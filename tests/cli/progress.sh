#!/bin/bash
# tests/cli/progress.sh - long jobs are not silent in logs: with stderr not a
# terminal, `extract --dataset` prints plain progress lines (done/total,
# rate, ETA) at the interval LMMIQA_PROGRESS_SECONDS sets (10 s by default),
# none with --quiet, and never a carriage-return bar. Generated images.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
"$LMMIQA_BINARY_DIR/gen_samples" "$TMP/img" --size 320x240 >/dev/null 2>&1
check "samples made" test -s "$TMP/img/manifest.csv"
{ echo "image,mos"; k=0; for f in "$TMP"/img/*.png "$TMP"/img/*.jpg; do echo "$(basename "$f"),$((k % 90 + 5))"; k=$((k + 1)); done; } >"$TMP/img/labels.csv"
LMMIQA_PROGRESS_SECONDS=0 "$CLI" extract --extractor brisque --dataset "$TMP/img/labels.csv" \
    --output "$TMP/store" --jobs 1 2>"$TMP/err" >/dev/null
check "extract exit 0" test $? -eq 0
check "plain progress lines (done/total, rate, ETA)" grep -Eq '^lmmiqa extract: brisque: [0-9]+/[0-9]+ \([0-9]+%\), .* img/s, ETA ' "$TMP/err"
check "no carriage-return bar in a log" sh -c "! grep -q \$'\\r' '$TMP/err'"
check "still the summary line" grep -q 'computed, 0 failed' "$TMP/err"
rm -rf "$TMP/store"
LMMIQA_PROGRESS_SECONDS=0 "$CLI" extract --extractor brisque --dataset "$TMP/img/labels.csv" \
    --output "$TMP/store" --jobs 1 --quiet 2>"$TMP/errq" >/dev/null
check "--quiet: no progress line" sh -c "! grep -q 'img/s' '$TMP/errq'"
rm -rf "$TMP/store"
"$CLI" extract --extractor brisque --dataset "$TMP/img/labels.csv" --output "$TMP/store" \
    --jobs 1 2>"$TMP/err10" >/dev/null
check "default interval (10 s): a short run prints no progress line" sh -c "! grep -q 'img/s' '$TMP/err10'"
exit $fail
