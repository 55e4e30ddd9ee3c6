#!/bin/bash
# tests/cli/reliability.sh - issue 15 at the command line (docs/reliability.md):
# atomic --output under a full disk (RLIMIT_FSIZE stands in for it), stdout
# write errors (/dev/full), option ranges as usage errors, a model with one
# flipped byte, label-file errors, a diverging linear head, undrawable plots,
# and warnings when a corrupt store or an edited eval result is recomputed.
# Parts that need LIVE Challenge images skip without ../shared.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
SRC=${LMMIQA_SOURCE_DIR:?}
case "$CLI" in /*) ;; *) CLI=$PWD/$CLI ;; esac
exit_is() { # code, command...: the command exits with that code
    local want=$1
    shift
    "$@" >/dev/null 2>"$TMP/err"
    test $? -eq "$want"
}

# ---- stdout: every command checks its writes and the close ------------------
"$CLI" version >/dev/full 2>"$TMP/err"
check "version > /dev/full exit 1" test $? -eq 1
check "version > /dev/full says why" grep -q "No space left on device" "$TMP/err"
"$CLI" metrics "$SRC/tests/data/metrics/n3.csv" --json >/dev/full 2>"$TMP/err"
check "metrics > /dev/full exit 1" test $? -eq 1
check "metrics > /dev/full says why" grep -q "stdout: write failed: No space left" "$TMP/err"
printf 'image,mos\na.png,1\nb.png,2\n' >"$TMP/two.csv"
"$CLI" dataset info "$TMP/two.csv" >/dev/full 2>"$TMP/err"
check "dataset info > /dev/full exit 1" test $? -eq 1
"$CLI" score --help >/dev/full 2>/dev/null
check "score --help > /dev/full exit 1" test $? -eq 1

# ---- usage errors: out-of-range values exit 2 like --epochs 0 ----------------
check "version extra argument exit 2" exit_is 2 "$CLI" version extra
# Each with what the command needs otherwise, so that only the value is wrong
# (these used to run and fail with exit 1, or train with it).
for opt in "eval --test-frac 0" "eval --test-frac 1" "eval --val 1" "eval --val -0.1" \
    "eval --rank-margin -1" "train --dropout 2" "train --dropout 1" "train --svr-c -1" \
    "train --svr-c 0" "train --lr inf" "train --lr 0" "train --lr nan" "train --weight-decay -1" \
    "train --svr-epsilon -1" "train --svr-gamma inf" "train --epochs 0" "train --rank-lambda -1" \
    "train --rank-margin 2" "fit --lr inf" "fit --lr 0" "dataset splits --test 0" \
    "dataset splits --val 1"; do
    read -r -a words <<<"$opt"
    case ${words[0]} in
    eval) rest=(--dataset "$TMP/two.csv" --features brisque --store "$TMP/st0" --out "$TMP/o") ;;
    train) rest=(--dataset "$TMP/two.csv" --features brisque --store "$TMP/st0" --out "$TMP/m0") ;;
    fit) rest=(--extractor cnniqa --dataset "$TMP/two.csv" --out "$TMP/f0") ;;
    dataset) rest=("$TMP/two.csv" --out "$TMP/s0.json") ;;
    esac
    check "$opt exit 2" exit_is 2 "$CLI" "${words[@]}" "${rest[@]}"
    name=$(grep -o -- '--[a-z-]*' <<<"$opt")
    check "$opt names the option" grep -q -- "$name" "$TMP/err"
done
check "nothing was trained or written" test ! -e "$TMP/m0" -a ! -e "$TMP/f0" -a ! -e "$TMP/s0.json"

# ---- metrics precision -------------------------------------------------------
out=$("$CLI" metrics "$SRC/tests/data/metrics/n3.csv" --json)
check "json numbers without binary noise" grep -q '"krcc":[[:space:]]*0.333333333333333,' <<<"$out"
awk 'BEGIN { print "p,m"; for (i = 1; i <= 8; i++) printf "%.12g,%.12g\n", i * 1e-9, (i + (i % 3)) * 1e-9 }' \
    >"$TMP/tiny.csv"
out=$("$CLI" metrics "$TMP/tiny.csv" --pred p --mos m)
check "tiny RMSE not printed as 0.000000" grep -Eq '^RMSE +[1-9][0-9.]*e-0?9$' <<<"$out"

# ---- plot: values it cannot draw ----------------------------------------------
printf 'mos,pred\n1,1e300\n2,-1e300\n3,5\n' >"$TMP/huge.csv"
"$CLI" plot scatter "$TMP/huge.csv" --out "$TMP/huge.png" >/dev/null 2>"$TMP/err"
check "plot of 1e300 exit 1" test $? -eq 1
check "plot of 1e300 says so" grep -q "cannot be drawn" "$TMP/err"
check "plot of 1e300 writes no file" test ! -e "$TMP/huge.png"
printf 'model,cat,plcc\na,x,1e200\na,y,-1e200\n' >"$TMP/trend.csv"
check "trend of 1e200 exit 1" exit_is 1 "$CLI" plot trend "$TMP/trend.csv" --x cat --line model \
    --y plcc --out "$TMP/t.png"

# ---- label files ---------------------------------------------------------------
printf 'this is not a zip\n' >"$TMP/labels.xlsx"
check "xlsx that is not a zip exit 1" exit_is 1 "$CLI" dataset info "$TMP/labels.xlsx"
check "xlsx that is not a zip says so" grep -q "labels.xlsx: not a zip (xlsx) file" "$TMP/err"
head -c 200 /dev/urandom >"$TMP/random.xlsx"
check "random xlsx exit 1" exit_is 1 "$CLI" dataset info "$TMP/random.xlsx"
check "random xlsx says not a zip" grep -q "not a zip (xlsx) file" "$TMP/err"
mkdir -p "$TMP/mat"
printf 'MATLAB 5.0 MAT-file, garbage follows' >"$TMP/mat/mine.mat"
check "bad .mat exit 1" exit_is 1 "$CLI" dataset info "$TMP/mat/mine.mat"
check "bad .mat names the file given" grep -q "mine.mat" "$TMP/err"
printf 'image,mos\na.png,1\n\n  \nb.png,2\n\n' >"$TMP/blank.csv"
"$CLI" dataset info "$TMP/blank.csv" >"$TMP/out" 2>"$TMP/err"
check "blank CSV lines skipped exit 0" test $? -eq 0
check "blank CSV lines skipped: 2 images" grep -Eq '^size: +2 images$' "$TMP/out"
printf 'image,mos\n./Images/a.png,1\nImages/a.png,2\n' >"$TMP/dup.csv"
check "two spellings of one image exit 1" exit_is 1 "$CLI" dataset info "$TMP/dup.csv"
check "two spellings named" grep -q "duplicate image './Images/a.png' (line 2) and 'Images/a.png' (line 3)" "$TMP/err"
printf 'image,mos,mos\na.png,1,2\n' >"$TMP/rep.csv"
check "repeated header column exit 1" exit_is 1 "$CLI" dataset info "$TMP/rep.csv"
check "repeated header column named" grep -q "column 'mos' appears twice" "$TMP/err"

# ---- the rest needs LIVE Challenge images -----------------------------------------
need_livec
A=$LIVEC/Images/100.png
B=$LIVEC/Images/1000.JPG
{
    echo "image,mos"
    sed -n '2,21p' "$LIVEC/livec.csv" | cut -d, -f1,2
} >"$TMP/twenty.csv"

# score --output: atomic. A file-size limit makes write() fail with EFBIG
# exactly as a full disk fails it with ENOSPC; the old file must survive and
# no file may appear where there was none.
mapfile -t imgs < <(sed -n '2,41p' "$LIVEC/livec.csv" | cut -d, -f1 | sed "s|^|$LIVEC/|")
echo "previous content" >"$TMP/scores.csv"
(trap '' XFSZ; ulimit -f 1; "$CLI" score --output "$TMP/scores.csv" "${imgs[@]}") 2>"$TMP/err"
check "score --output on a full disk exit 1" test $? -eq 1
check "score --output keeps the old file" test "$(cat "$TMP/scores.csv")" = "previous content"
check "score --output error names the reason" grep -q "File too large" "$TMP/err"
check "no temporary file left" test -z "$(find "$TMP" -maxdepth 1 -name 'scores.csv.tmp*')"
(trap '' XFSZ; ulimit -f 1; "$CLI" score --output "$TMP/new.csv" "${imgs[@]}") 2>/dev/null
check "score --output leaves no 0-byte file" test ! -e "$TMP/new.csv"
"$CLI" score --output "$TMP/scores.csv" "$A" "$B" 2>"$TMP/err"
check "score --output normal exit 0" test $? -eq 0
check "score --output normal content" test "$(wc -l <"$TMP/scores.csv")" -eq 3
check "score --output to a missing folder exit 1" exit_is 1 "$CLI" score --output "$TMP/no/dir/x.csv" "$A"
check "score --output missing folder says why" grep -q "No such file or directory" "$TMP/err"

# A trained linear model with one flipped byte in its tensor data: refused.
"$CLI" train --features brisque --head linear --dataset "$TMP/twenty.csv" --image-root "$LIVEC" \
    --store "$TMP/store" --epochs 5 --out "$TMP/lin.safetensors" --quiet 2>"$TMP/err"
check "train linear exit 0" test $? -eq 0
/usr/bin/python3 - "$TMP/lin.safetensors" "$TMP/flip.safetensors" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
n = struct.unpack('<Q', b[:8])[0]
b[8 + n + (len(b) - 8 - n) // 2] ^= 0x40
open(sys.argv[2], 'wb').write(b)
PY
"$CLI" score --model "$TMP/flip.safetensors" "$A" >"$TMP/out" 2>"$TMP/err"
check "flipped model byte exit 1" test $? -eq 1
check "flipped model byte: checksum error naming the file" grep -q "flip.safetensors.*checksum mismatch" "$TMP/err"
check "flipped model byte: no score" test ! -s "$TMP/out"
"$CLI" score --model "$TMP/lin.safetensors" "$A" >/dev/null 2>&1
check "intact model still scores" test $? -eq 0

# A linear head that diverges is reported like the MLP's.
"$CLI" train --features brisque --head linear --lr 1e30 --dataset "$TMP/twenty.csv" \
    --image-root "$LIVEC" --store "$TMP/store" --epochs 5 --out "$TMP/div.safetensors" --quiet 2>"$TMP/err"
check "linear --lr 1e30 exit 1" test $? -eq 1
check "linear --lr 1e30 diverged" grep -q "training diverged" "$TMP/err"
check "linear --lr 1e30 wrote no model" test ! -e "$TMP/div.safetensors"

# Store: a corrupt .npy is recomputed with one warning naming it.
/usr/bin/python3 -c "
import sys; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[-3] ^= 1; open(p, 'wb').write(b)" \
    "$TMP/store/brisque.npy"
"$CLI" train --features brisque --dataset "$TMP/twenty.csv" --image-root "$LIVEC" --store "$TMP/store" \
    --epochs 2 --out "$TMP/m2.safetensors" 2>"$TMP/err"
check "corrupt store exit 0" test $? -eq 0
check "corrupt store: one warning" test "$(grep -c 'warning:' "$TMP/err")" -eq 1
check "corrupt store: warning names the .npy" grep -q "warning: .*brisque.npy.*recomputed" "$TMP/err"
check "corrupt store: recomputed, not reused" grep -q "0 reused, 20 computed" "$TMP/err"

# Eval: an edited per-split result (PLCC set to 0.999) is recomputed with a
# warning, and results.md shows the real value.
ev() { "$CLI" eval --dataset "$TMP/twenty.csv" --image-root "$LIVEC" --store "$TMP/store" \
    --features brisque --seed 3 --splits 2 --out "$TMP/ev" "$@"; }
ev >"$TMP/first.md" 2>"$TMP/err"
check "eval exit 0" test $? -eq 0
check "eval results carry a content digest" grep -q '"content_sha256"' "$TMP/ev/runs/brisque/split-1.json"
sed -i -E '0,/"plcc":[[:space:]]*[-0-9.e]+/s//"plcc": 0.999/' "$TMP/ev/runs/brisque/split-1.json"
check "edit applied" grep -q '"plcc": 0.999' "$TMP/ev/runs/brisque/split-1.json"
ev >"$TMP/second.md" 2>"$TMP/err"
check "resumed eval exit 0" test $? -eq 0
check "edited split: warning" grep -q "warning: .*split-1.json: content digest mismatch" "$TMP/err"
check "edited split recomputed, other reused" test "$(grep -c '(reused)' "$TMP/err")" -eq 1
check "results.md unchanged by the edit" cmp -s "$TMP/first.md" "$TMP/second.md"
check "no 0.999 in results" test -z "$(grep -l '0\.999' "$TMP/ev/results.md" "$TMP/ev/results.csv")"
ev --quiet >/dev/null 2>"$TMP/err"
check "clean resume: no warning" test ! -s "$TMP/err"
ev --quiet >/dev/full 2>"$TMP/err"
check "eval > /dev/full exit 1" test $? -eq 1
check "eval > /dev/full says why" grep -q "stdout: write failed: No space left" "$TMP/err"
exit $fail
