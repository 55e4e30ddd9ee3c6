#!/usr/bin/env bash
# scripts/bench-default-model.sh - time the built-in model against the
# previous one (BRISQUE + MLP, default-brisque-livec, taken from git history)
# on one core: `lmmiqa score --jobs 1` over the demo's 30 sample images at
# 512x384 (tools/gen_samples, PNG), decoding included, best of 3 runs.
# Prints milliseconds per image for each model. Run it on an idle machine.
#
#   scripts/bench-default-model.sh [--build DIR] [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=build
RUNS=3
while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD=$2; shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "bench-default-model.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$BUILD/gen_samples" "$TMP/s" --size 512x384 >/dev/null
git show 105af68:models/default-brisque-livec.safetensors > "$TMP/previous.safetensors"
mapfile -t images < <(tail -n +2 "$TMP/s/manifest.csv" | cut -d, -f1 | sed "s|^|$TMP/s/|")
n=${#images[@]}
bench() { # label, score options...
    local label=$1 best=
    shift
    for _ in $(seq "$RUNS"); do
        local t0 t1 ms
        t0=$(date +%s%N)
        "$BUILD/lmmiqa" score --jobs 1 "$@" "${images[@]}" >/dev/null
        t1=$(date +%s%N)
        ms=$(( (t1 - t0) / 1000 / n ))
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    done
    printf '%-32s %6.2f ms per image (%d images, best of %d)\n' "$label" \
        "$(echo "$best / 1000" | bc -l)" "$n" "$RUNS"
}
bench "built-in ($("$BUILD/lmmiqa" score --format json "${images[0]}" | sed -n 's/.*"name":[[:space:]]*"\([^"]*\)".*/\1/p' | head -1))"
bench "previous (default-brisque-livec)" --model "$TMP/previous.safetensors"
