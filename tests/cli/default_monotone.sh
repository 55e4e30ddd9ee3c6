#!/bin/bash
# tests/cli/default_monotone.sh - the built-in model's score falls at every
# step of a growing synthetic degradation for at least 95 % of the steps
# (issue 16): the project's generated scenes (tools/gen_samples: 3 scenes x
# Gaussian blur / noise / JPEG x 3 levels = 27 steps, pristine -> level 1 ->
# 2 -> 3), rendered at two sizes and seeds (the demo's 384x256 / seed 2024
# default and 512x384 / seed 7), so 54 steps in all and at most 2 may go the
# wrong way (a tie counts as wrong). Prints every wrong step.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
GEN=${LMMIQA_BINARY_DIR:?LMMIQA_BINARY_DIR must name the build folder}/gen_samples
if [ ! -x "$GEN" ]; then
    echo "SKIP: $GEN not built"
    exit 77
fi
total_wrong=0
total=0
for variant in "default" "--size 512x384 --seed 7"; do
    dir=$TMP/$(echo "$variant" | tr -c 'a-z0-9' _)
    # shellcheck disable=SC2086
    if [ "$variant" = default ]; then "$GEN" "$dir" >/dev/null; else "$GEN" "$dir" $variant >/dev/null; fi
    check "gen_samples $variant" test -s "$dir/manifest.csv"
    mapfile -t images < <(tail -n +2 "$dir/manifest.csv" | cut -d, -f1 | sed "s|^|$dir/|")
    "$CLI" score "${images[@]}" >"$dir/scores.csv"
    check "score ($variant)" test $? -eq 0
    # manifest: image,scene,distortion,level; scores.csv: image,score
    read -r wrong steps < <(awk -F, -v scores="$dir/scores.csv" -v dir="$dir/" '
        BEGIN { while ((getline line < scores) > 0) { split(line, a, ","); s[a[1]] = a[2] } }
        NR > 1 { v[$2 "," $3 "," $4] = s[dir $1]; if ($4 == 0) p[$2] = s[dir $1]; key[$2 "," $3] = 1 }
        END {
            w = 0; n = 0
            for (k in key) {
                split(k, a, ",")
                if (a[2] == "pristine") continue
                prev = p[a[1]]
                for (l = 1; l <= 3; l++) {
                    cur = v[k "," l]
                    n++
                    if (cur == "" || cur + 0 >= prev + 0) {
                        w++
                        printf "wrong step: %s %s level %d: %s -> %s\n", a[1], a[2], l, prev, cur > "/dev/stderr"
                    }
                    prev = cur
                }
            }
            print w, n
        }' "$dir/manifest.csv")
    echo "$variant: $wrong of $steps steps the wrong way"
    total_wrong=$((total_wrong + wrong))
    total=$((total + steps))
done
check "54 steps scored" test "$total" -eq 54
check "at most 5 % of the steps go the wrong way ($total_wrong of $total)" \
    test $((total_wrong * 100)) -le $((total * 5))
exit $fail
