#!/bin/bash
# tests/cli/store_resume.sh - the feature store survives kill -9: start
# `lmmiqa extract --dataset` on ~100 LIVE Challenge images in the background,
# kill -9 it once some rows are journaled, re-run, and check that the re-run
# reports reusing those rows, leaves no journal, and writes a .npy equal to
# an uninterrupted run's. Skips without the shared data.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
need_livec
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$TMP"' EXIT
N=100
[ -n "${LMMIQA_SANITIZED:-}" ] && N=32 # sanitizer builds are ~10x slower
{
    echo "image,mos"
    sed -n "2,$((N + 1))p" "$LIVEC/livec.csv" | cut -d, -f1,2
} >"$TMP/set.csv"
extract() { # store dir, extra args...
    local dir=$1
    shift
    "$CLI" extract --extractor brisque --dataset "$TMP/set.csv" --image-root "$LIVEC" \
        --output "$dir" "$@"
}

# Reference: an uninterrupted run.
extract "$TMP/ref" --jobs 2 2>"$TMP/ref.err"
check "reference run exit 0" test $? -eq 0

# Interrupted run: one worker, killed once at least 4 records are journaled
# (header 64 bytes, record 48 + 36*4 + 8 = 200 bytes).
extract "$TMP/store" --jobs 1 2>"$TMP/run1.err" &
pid=$!
journal=$TMP/store/brisque.journal
for _ in $(seq 1 600); do
    size=$(stat -c %s "$journal" 2>/dev/null || echo 0)
    [ "$size" -ge $((64 + 4 * 200)) ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
check "killed before finishing" test ! -e "$TMP/store/brisque.npy"
check "journal kept" test -s "$journal"
size=$(stat -c %s "$journal" 2>/dev/null || echo 0)
done_rows=$(((size - 64) / 200))
check "some rows journaled ($done_rows)" test "$done_rows" -ge 4
check "not all rows journaled" test "$done_rows" -lt "$N"

# Simulate a torn last record as well (kill -9 in the middle of a write).
printf 'torn' >>"$journal"

# Resume.
extract "$TMP/store" --jobs 2 2>"$TMP/run2.err"
check "resumed run exit 0" test $? -eq 0
reused=$(sed -n 's/.* \([0-9]*\) reused, \([0-9]*\) computed.*/\1/p' "$TMP/run2.err" | tail -n 1)
computed=$(sed -n 's/.* \([0-9]*\) reused, \([0-9]*\) computed.*/\2/p' "$TMP/run2.err" | tail -n 1)
check "reports reusing the journaled rows ($reused >= $done_rows)" test "${reused:-0}" -ge "$done_rows"
check "computes only the rest" test $((${reused:-0} + ${computed:-0})) -eq "$N" -a "${computed:-0}" -gt 0
check "journal removed" test ! -e "$journal"
check "npy equals the uninterrupted run's" cmp -s "$TMP/store/brisque.npy" "$TMP/ref/brisque.npy"
check "$N images with hashes" test "$(grep -c '"sha256"' "$TMP/store/brisque.json")" -eq "$N"
check "image lists equal" cmp -s <(grep -A1 '"image"' "$TMP/store/brisque.json") \
    <(grep -A1 '"image"' "$TMP/ref/brisque.json")
check "no temporary files left" test -z "$(ls "$TMP/store" | grep -v '^brisque\.\(npy\|json\)$')"
exit $fail
