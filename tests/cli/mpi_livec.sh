#!/bin/bash
# tests/cli/mpi_livec.sh - `mpirun -n 3 lmmiqa extract --dataset` and `eval`
# on 120 LIVE Challenge images equal the single-process run byte for byte
# (store .npy, sidecar but for its time stamp, every summary of eval), and a
# rank killed with kill -9 midway is resumed to the same bytes. Skips (77)
# without the shared data, without MPI in the build, and under the sanitizers.
. "$(dirname "${BASH_SOURCE[0]}")/lib/mpi.bash"
need_livec
N=120
{
    echo "image,mos"
    sed -n "2,$((N + 1))p" "$LIVEC/livec.csv" | cut -d, -f1,2
} >"$TMP/set.csv"
args=(--extractor brisque --dataset "$TMP/set.csv" --image-root "$LIVEC")
"$CLI" extract "${args[@]}" --output "$TMP/ref" 2>/dev/null
check "single-process extract exit 0" test $? -eq 0
mpi 3 extract "${args[@]}" --output "$TMP/m3" 2>"$TMP/m3.err"
check "mpirun -n 3 extract exit 0" test $? -eq 0
same_store "$TMP/ref" "$TMP/m3" brisque "-n 3"
check "-n 3: both serving ranks computed rows" \
    grep -q 'tasks per rank: 1:[1-9][0-9]* 2:[1-9]' "$TMP/m3.err"

journal=$TMP/k/brisque.journal
kill_rank_when 2 "journal has 4 rows" \
    '[ "$(stat -c %s "'"$journal"'" 2>/dev/null || echo 0)" -ge $((64 + 4 * 200)) ]' \
    3 extract "${args[@]}" --output "$TMP/k" --jobs 1
check "killed run: mpirun failed ($killed_rc)" test "$killed_rc" -ne 0
check "killed run: no .npy, journal kept" test ! -e "$TMP/k/brisque.npy" -a -s "$journal"
mpi 3 extract "${args[@]}" --output "$TMP/k" 2>/dev/null
check "resumed run exit 0" test $? -eq 0
same_store "$TMP/ref" "$TMP/k" brisque "after kill and resume"

eval_args=(--dataset "$TMP/set.csv" --image-root "$LIVEC" --features brisque --splits 5 --quiet)
"$CLI" eval "${eval_args[@]}" --store "$TMP/ref" --out "$TMP/e1" >/dev/null 2>&1
check "single-process eval exit 0" test $? -eq 0
mpi 3 eval "${eval_args[@]}" --store "$TMP/m3" --out "$TMP/e3" >/dev/null 2>&1
check "mpirun -n 3 eval exit 0" test $? -eq 0
same_results "$TMP/e1" "$TMP/e3" "-n 3"
exit $fail
