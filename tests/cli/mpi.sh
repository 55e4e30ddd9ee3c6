#!/bin/bash
# tests/cli/mpi.sh - `mpirun -n N lmmiqa extract --dataset` and `lmmiqa eval`
# on generated images (tools/gen_samples): the store (.npy byte for byte,
# sidecar but for its time stamp) and every summary file of eval equal the
# single-process run's for 1, 2 and 3 ranks; both serving ranks get work; a
# rank killed with kill -9 midway makes mpirun fail, keeps what was written
# (the journal, finished split files), and a re-run resumes to the same bytes.
# Skips (77) when the CLI is built without MPI, and under the sanitizers
# (LeakSanitizer reports Open MPI's own allocations as leaks).
. "$(dirname "${BASH_SOURCE[0]}")/lib/mpi.bash"
GEN=${LMMIQA_BINARY_DIR:?LMMIQA_BINARY_DIR must name the build folder}/gen_samples

# 90 small images (3 seeds of the sample scenes) with made-up scores.
for s in 1 2 3; do
    "$GEN" "$TMP/img$s" --size 256x192 --seed "$s" >/dev/null 2>&1 || { echo "FAIL gen_samples"; exit 1; }
done
make_set "$TMP/set.csv" "$TMP" img1 img2 img3

"$CLI" extract --extractor brisque --dataset "$TMP/set.csv" --image-root "$TMP" \
    --output "$TMP/ref" 2>"$TMP/ref.err"
check "single-process extract exit 0" test $? -eq 0
for n in 1 2 3; do
    mpi "$n" extract --extractor brisque --dataset "$TMP/set.csv" --image-root "$TMP" \
        --output "$TMP/m$n" 2>"$TMP/m$n.err"
    check "mpirun -n $n extract exit 0" test $? -eq 0
    same_store "$TMP/ref" "$TMP/m$n" brisque "-n $n"
done
check "-n 3: both serving ranks computed rows" \
    grep -q 'tasks per rank: 1:[1-9][0-9]* 2:[1-9]' "$TMP/m3.err"
check "-n 1: no tasks handed out" bash -c "! grep -q 'tasks per rank' '$TMP/m1.err'"

# eval: a linear and an MLP head, 5 splits.
eval_args=(--dataset "$TMP/set.csv" --image-root "$TMP" --features brisque --splits 5)
"$CLI" eval "${eval_args[@]}" --store "$TMP/ref" --out "$TMP/e1" --quiet >/dev/null 2>&1
check "single-process eval exit 0" test $? -eq 0
"$CLI" eval "${eval_args[@]}" --store "$TMP/ref" --out "$TMP/e1m" --head mlp --epochs 60 \
    --quiet >/dev/null 2>&1
for n in 2 3; do
    mpi "$n" eval "${eval_args[@]}" --store "$TMP/m$n" --out "$TMP/e$n" >"$TMP/e$n.out" \
        2>"$TMP/e$n.err"
    check "mpirun -n $n eval exit 0" test $? -eq 0
    same_results "$TMP/e1" "$TMP/e$n" "-n $n linear"
    mpi "$n" eval "${eval_args[@]}" --store "$TMP/m$n" --out "$TMP/e${n}m" --head mlp \
        --epochs 60 --quiet >/dev/null 2>&1
    check "mpirun -n $n eval --head mlp exit 0" test $? -eq 0
    same_results "$TMP/e1m" "$TMP/e${n}m" "-n $n mlp"
done
check "-n 3 eval: pairs handed out" grep -q 'pairs: tasks per rank: 1:' "$TMP/e3.err"
check "-n 3 eval prints the table" grep -q '| brisque | linear |' "$TMP/e3.out"

# kill -9 of a serving rank during extraction, then resume: 60 large images,
# one thread per rank so it takes a few seconds.
for s in 4 5; do
    "$GEN" "$TMP/big$s" --size 1600x1200 --seed "$s" >/dev/null 2>&1
done
make_set "$TMP/big.csv" "$TMP" big4 big5
N=$(($(wc -l <"$TMP/big.csv") - 1))
"$CLI" extract --extractor brisque --dataset "$TMP/big.csv" --image-root "$TMP" \
    --output "$TMP/bigref" 2>/dev/null
check "single-process extract of $N large images" test $? -eq 0
journal=$TMP/bigk/brisque.journal
kill_rank_when 1 "journal has 4 rows" \
    '[ "$(stat -c %s "'"$journal"'" 2>/dev/null || echo 0)" -ge $((64 + 4 * 200)) ]' \
    3 extract --extractor brisque --dataset "$TMP/big.csv" --image-root "$TMP" \
    --output "$TMP/bigk" --jobs 1
check "killed run: mpirun failed ($killed_rc)" test "$killed_rc" -ne 0
check "killed run: no .npy" test ! -e "$TMP/bigk/brisque.npy"
rows=$((($(stat -c %s "$journal" 2>/dev/null || echo 64) - 64) / 200))
check "killed run: journal kept ($rows rows)" test "$rows" -ge 4 -a "$rows" -lt "$N"
mpi 3 extract --extractor brisque --dataset "$TMP/big.csv" --image-root "$TMP" \
    --output "$TMP/bigk" --jobs 1 2>"$TMP/resume.err"
check "resumed run exit 0" test $? -eq 0
reused=$(sed -n 's/.* \([0-9]*\) reused, .*/\1/p' "$TMP/resume.err" | tail -n 1)
check "resumed run reused the journaled rows (${reused:-0} >= $rows)" test "${reused:-0}" -ge "$rows"
check "journal removed" test ! -e "$journal"
same_store "$TMP/bigref" "$TMP/bigk" brisque "after kill and resume"

# kill -9 of a serving rank during eval, then resume.
slow=(--dataset "$TMP/set.csv" --image-root "$TMP" --features brisque --splits 6 --head mlp
    --epochs 1500 --jobs 1 --store "$TMP/ref")
"$CLI" eval "${slow[@]}" --out "$TMP/eref" --quiet >/dev/null 2>&1
check "single-process slow eval exit 0" test $? -eq 0
kill_rank_when 2 "a split finished" 'ls "'"$TMP"'/ek/runs/brisque/"split-*.json >/dev/null 2>&1' \
    3 eval "${slow[@]}" --out "$TMP/ek"
check "killed eval: mpirun failed ($killed_rc)" test "$killed_rc" -ne 0
kept=$(ls "$TMP/ek/runs/brisque/" 2>/dev/null | grep -c '^split-[0-9]*\.json$')
check "killed eval: finished splits kept ($kept), no summary" \
    test "$kept" -ge 1 -a "$kept" -lt 6 -a ! -e "$TMP/ek/results.csv"
for f in "$TMP"/ek/runs/brisque/split-*.json; do
    check "kept $(basename "$f") is whole JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f"
done
mpi 3 eval "${slow[@]}" --out "$TMP/ek" >/dev/null 2>"$TMP/ek.err"
check "resumed eval exit 0" test $? -eq 0
check "resumed eval reused the kept splits" test "$(grep -c '(reused)' "$TMP/ek.err")" -ge "$kept"
same_results "$TMP/eref" "$TMP/ek" "eval after kill and resume"
exit $fail
