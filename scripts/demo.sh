#!/usr/bin/env bash
# scripts/demo.sh BUILD_DIR - the demo behind `make demo`.
#
# Renders the project's own sample scenes (tools/gen_samples.c), each pristine
# and blurred, noised and JPEG-compressed at three strengths, then shows how
# lmmiqa sees them: a few BRISQUE features, the built-in scoring model's
# predicted MOS (0-100, higher is better) and, when the original BRISQUE
# release model is at ../shared/models/brisque-live, its score (lower is better).
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
cli="$build/lmmiqa"
samples="$build/samples"
"$build/gen_samples" "$samples" >/dev/null
mapfile -t images < <(tail -n +2 "$samples/manifest.csv" | cut -d, -f1 | sed "s|^|$samples/|")

feats=$(mktemp); scores=$(mktemp); brisq=$(mktemp)
trap 'rm -f "$feats" "$scores" "$brisq"' EXIT
"$cli" extract --extractor brisque --output - "${images[@]}" >"$feats"
"$cli" score "${images[@]}" >"$scores"
model="$here/../shared/models/brisque-live"
if [ -f "$model/allmodel" ]; then
  "$cli" score --brisque-model "$model/allmodel" --brisque-range "$model/allrange" "${images[@]}" >"$brisq"
else
  printf 'image,score\n' >"$brisq"
fi

echo "lmmiqa $("$cli" version | cut -d' ' -f2) demo: how quality features and scores move as distortion grows"
echo "f1 = MSCN shape (alpha), f2 = MSCN variance, f3 = horizontal-pair shape; score = built-in model,"
echo "predicted MOS on LIVE Challenge's 0-100 scale (higher is better); BRISQUE = original release (lower is better)."
echo
awk -F, -v scores="$scores" -v brisq="$brisq" '
  BEGIN {
    while ((getline line < scores) > 0) { split(line, a, ","); s[a[1]] = a[2] }
    while ((getline line < brisq) > 0) { split(line, a, ","); b[a[1]] = a[2] }
    printf "%-26s %7s %8s %7s %8s %8s\n", "image", "f1", "f2", "f3", "score", "BRISQUE"
  }
  NR > 1 {
    n = split($1, p, "/"); name = p[n]
    printf "%-26s %7.3f %8.4f %7.3f %8s %8s\n", name, $2, $3, $4, \
      ($1 in s) ? sprintf("%.1f", s[$1]) : "-", ($1 in b) ? sprintf("%.1f", b[$1]) : "-"
  }' "$feats"
