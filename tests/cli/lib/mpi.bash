# tests/cli/lib/mpi.bash - what the MPI tests (tests/cli/mpi*.sh) share, on
# top of common.bash. Skips (77) when the CLI is built without MPI (CMake
# sets LMMIQA_MPIRUN only with -DLMMIQA_MPI=ON) and under the sanitizers.
# Defines:
#   mpi N ARGS...            mpirun -n N lmmiqa ARGS..., bounded by timeout
#   make_set CSV ROOT DIR... a label file of every image in ROOT/DIR...
#   same_store REF DIR EXTRACTOR WHAT     .npy byte for byte, sidecar but time
#   same_results REF DIR WHAT             eval's summary files byte for byte
#   kill_rank_when RANK WHAT CONDITION N ARGS...
#                            start mpirun -n N lmmiqa ARGS... in the background,
#                            kill -9 rank RANK once CONDITION (shell code) is
#                            true, wait; sets killed_rc to mpirun's exit code
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
if [ -z "${LMMIQA_MPIRUN:-}" ]; then
    echo "SKIP: lmmiqa is built without MPI (cmake -DLMMIQA_MPI=ON)"
    exit 77
fi
if [ -n "${LMMIQA_SANITIZED:-}" ]; then
    echo "SKIP: under the sanitizers LeakSanitizer reports Open MPI's own allocations"
    exit 77
fi
# Root in a container; shared memory between the local ranks only; every
# wait of a rank for another bounded (cli_mpi.c).
MPIOPTS=(--oversubscribe --allow-run-as-root --bind-to none --mca btl self,vader)
export LMMIQA_MPI_TIMEOUT=120
mpi() { # ranks, lmmiqa arguments...
    local n=$1
    shift
    timeout -k 10 300 "$LMMIQA_MPIRUN" "${MPIOPTS[@]}" -n "$n" "$CLI" "$@"
}
make_set() { # csv, root, folders...
    local out=$1 root=$2 i=0 d f
    shift 2
    {
        echo "image,mos"
        for d in "$@"; do
            for f in $(ls "$root/$d" | grep -v manifest); do
                i=$((i + 1))
                echo "$d/$f,$((i * 37 % 97 + 1))"
            done
        done
    } >"$out"
}
same_store() { # reference dir, dir, extractor, description
    check "$4: $3.npy equals the single-process one" cmp -s "$1/$3.npy" "$2/$3.npy"
    check "$4: $3.json equals it but for created_utc" \
        cmp -s <(grep -v created_utc "$1/$3.json") <(grep -v created_utc "$2/$3.json")
}
same_results() { # reference dir, dir, description
    local f
    for f in results.csv results.md results.json per_split.csv predictions.csv splits.json; do
        check "$3: $f equals the single-process one" cmp -s "$1/$f" "$2/$f"
    done
}
rank_pid() { # tag, rank: the pid of that rank of the run tagged so
    local p
    for p in $(pgrep -f -- "$CLI"); do
        if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "LMMIQA_TEST_RUN=$1" &&
            tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
            echo "$p"
            return
        fi
    done
}
killed_rc=0
kill_rank_when() { # rank, description, condition, ranks, lmmiqa arguments...
    local rank=$1 what=$2 cond=$3 n=$4 tag=$TMP/run-$RANDOM pid= mp _
    shift 4
    LMMIQA_TEST_RUN=$tag mpi "$n" "$@" >/dev/null 2>"$TMP/killed.err" &
    mp=$!
    for _ in $(seq 1 1200); do # at most a minute
        eval "$cond" && break
        kill -0 "$mp" 2>/dev/null || break
        sleep 0.05
    done
    pid=$(rank_pid "$tag" "$rank")
    [ -n "$pid" ] && kill -9 "$pid"
    wait "$mp"
    killed_rc=$?
    check "rank $rank killed with kill -9 once $what" test -n "$pid"
}
