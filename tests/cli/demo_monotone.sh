#!/bin/bash
# tests/cli/demo_monotone.sh - the built-in default model must see the demo's
# distortions: for every sample scene (tools/gen_samples, default seed and
# size, as `make demo` renders them) and every distortion type (blur, noise,
# JPEG), the score of the strongest level must be below the pristine score.
# This is weaker than asking every step to fall (docs/protocol.md, "The
# default model", reports the step count) but robust, and it catches a model
# that no longer ranks synthetic distortions (e.g. one trained on MOS alone).
set -u
CLI=${LMMIQA_CLI:?LMMIQA_CLI must name the lmmiqa binary}
GEN=${LMMIQA_BINARY_DIR:?LMMIQA_BINARY_DIR must name the build folder}/gen_samples
if [ ! -x "$GEN" ]; then
    echo "SKIP: $GEN not built"
    exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$GEN" "$TMP/s" >/dev/null || { echo "FAIL gen_samples"; exit 1; }
mapfile -t images < <(tail -n +2 "$TMP/s/manifest.csv" | cut -d, -f1 | sed "s|^|$TMP/s/|")
"$CLI" score "${images[@]}" >"$TMP/scores.csv" || { echo "FAIL lmmiqa score"; exit 1; }
# scores.csv: image,score; manifest: image,scene,distortion,level
awk -F, -v scores="$TMP/scores.csv" -v dir="$TMP/s/" '
    BEGIN { while ((getline line < scores) > 0) { split(line, a, ","); s[a[1]] = a[2] } }
    NR > 1 {
        v = s[dir $1]
        if (v == "" || v !~ /^-?[0-9.]+$/) { printf "FAIL no score for %s\n", $1; bad = 1; next }
        if ($4 == 0) pristine[$2] = v
        else if ($4 > maxlevel[$2 "," $3]) { maxlevel[$2 "," $3] = $4; strongest[$2 "," $3] = v }
    }
    END {
        n = 0
        for (k in strongest) {
            split(k, p, ",")
            n++
            if (!(p[1] in pristine)) { printf "FAIL no pristine image for %s\n", p[1]; bad = 1; continue }
            ok = strongest[k] + 0 < pristine[p[1]] + 0
            printf "%-4s %-10s %-6s pristine %6.2f  strongest %6.2f\n", ok ? "ok" : "FAIL", p[1], p[2],
                   pristine[p[1]], strongest[k]
            if (!ok) bad = 1
        }
        if (n < 9) { printf "FAIL expected 3 scenes x 3 distortions, got %d\n", n; bad = 1 }
        exit bad
    }' "$TMP/s/manifest.csv"
