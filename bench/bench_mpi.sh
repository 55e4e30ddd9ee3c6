#!/usr/bin/env bash
# bench/bench_mpi.sh BUILD [EXTRACTOR] [N] [WEIGHTS] - extraction of N images (default
# 200 LIVE Challenge images, or generated ones without ../shared) into a
# fresh feature store: the threaded single process against mpirun -n 1, 2
# and 4 (each rank with all cores' threads; rank 0 coordinates and writes).
# On a 2-core machine ranks past 2 oversubscribe, so the point is overhead:
# -n 2 (one computing rank) should keep >= 90 % of the single process's
# throughput. Wall times include mpirun's start-up. Checks that every store
# equals the single-process one byte for byte. Needs -DLMMIQA_MPI=ON.
set -uo pipefail
build=${1:-build}
ex=${2:-brisque}
n=${3:-200}
weights=${4:-}   # a weight file for a learned extractor (e.g. a CLIP checkpoint)
wopt=()
[ -n "$weights" ] && wopt=(--weights "$ex=$weights")
cli=$build/lmmiqa
here=$(cd "$(dirname "$0")" && pwd)
livec=$here/../../shared/data/livec
mpirun=$(command -v mpirun || true)
if [ -z "$mpirun" ] || ! grep -q '^LMMIQA_MPI:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    echo "bench_mpi: needs mpirun and a build with -DLMMIQA_MPI=ON"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -f "$livec/livec.csv" ]; then
    root=$livec
    { echo "image,mos"; sed -n "2,$((n + 1))p" "$livec/livec.csv" | cut -d, -f1,2; } >"$tmp/set.csv"
    what="$n LIVE Challenge images"
else
    root=$tmp
    s=0
    while [ "$(find "$tmp" -name '*.png' -o -name '*.jpg' | wc -l)" -lt "$n" ]; do
        s=$((s + 1))
        "$build/gen_samples" "$tmp/g$s" --size 500x500 --seed "$s" >/dev/null 2>&1
    done
    { echo "image,mos"; (cd "$tmp" && find g* -name '*.png' -o -name '*.jpg' | sort | head -n "$n" |
        sed 's/$/,50/'); } >"$tmp/set.csv"
    what="$n generated 500x500 images"
fi
echo "extraction of $what with $ex, $(nproc) cores"
printf '%-28s %9s %9s %8s %s\n' run seconds img/s vs-1 store
run() { # label, command...
    local label=$1 out=$tmp/s-$RANDOM t0 t1
    shift
    t0=$(date +%s.%N)
    "$@" extract --extractor "$ex" "${wopt[@]}" --dataset "$tmp/set.csv" --image-root "$root" \
        --output "$out" --quiet 2>"$tmp/err" || { echo "$label: failed"; cat "$tmp/err"; return; }
    t1=$(date +%s.%N)
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    [ -z "${base:-}" ] && base=$secs && ref=$out
    local same=same
    cmp -s "$ref/$ex.npy" "$out/$ex.npy" || same=DIFFERS
    printf '%-28s %9.2f %9.1f %7.0f%% %s\n' "$label" "$secs" \
        "$(awk -v n="$n" -v s="$secs" 'BEGIN { print n / s }')" \
        "$(awk -v b="$base" -v s="$secs" 'BEGIN { print 100 * b / s }')" "$same"
}
base=
run "single process (threads)" "$cli"
for r in 1 2 4; do
    run "mpirun -n $r" "$mpirun" --oversubscribe --allow-run-as-root --bind-to none --mca btl self,vader -n "$r" "$cli"
done
