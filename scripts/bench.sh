#!/usr/bin/env bash
# scripts/bench.sh BUILD_DIR - run every benchmark with its peer side by side
# (`make bench`). Each benchmark prints its own table; see bench/*.c for the
# options of a longer or narrower run. The whole set takes several minutes on
# 2 cores (the transformer and EfficientNet runs dominate); name benchmarks
# to run a subset: scripts/bench.sh build brisque regressor
set -uo pipefail
build=${1:-build}
shift || true
all=(brisque regressor train vit extract align python serve mpi)
want=("$@")
[ ${#want[@]} -eq 0 ] && want=("${all[@]}")
status=0
# The idle gate (bench/bench_load.h): the load before the first benchmark is
# the one that counts; each benchmark withholds its ratios above 0.5.
read -r load1 _ </proc/loadavg
export LMMIQA_BENCH_START_LOAD=$load1
echo "bench.sh: 1-minute load average $load1 at the start$(awk -v l="$load1" 'BEGIN { if (l > 0.5) print " (above 0.5: ratios to peers will be withheld; stop other jobs and rerun)" }')"
for b in "${want[@]}"; do
  exe="$build/bench/bench_$b"
  echo "==================== bench_$b"
  if [ "$b" = mpi ]; then
    bash "$(dirname "$0")/../bench/bench_mpi.sh" "$build" || status=1
    continue
  fi
  if [ "$b" = extract ]; then
    bash "$(dirname "$0")/../bench/bench_extract.sh" "$build" || status=1
    continue
  fi
  if [ "$b" = python ]; then
    /usr/bin/python3 "$(dirname "$0")/../bench/bench_python.py" "$build" || status=1
    continue
  fi
  if [ ! -x "$exe" ]; then
    echo "bench_$b was not built (bench_brisque needs OpenCV: scripts/setup.sh --bench)"
    continue
  fi
  case "$b" in
    serve)
      imgs=$(mktemp -d)
      for seed in 1 2 3 4; do
        "$build/gen_samples" "$imgs/s$seed" --size 512x384 --seed $seed >/dev/null &&
          for f in "$imgs/s$seed"/*.jpg; do mv "$f" "$imgs/s${seed}_$(basename "$f")"; done
      done
      "$exe" "$build/lmmiqa" "$imgs"
      rc=$?
      rm -rf "$imgs"
      [ $rc -eq 0 ] ;;
    brisque) "$exe" "$(dirname "$0")/../../shared/data/livec/Images/1000.JPG" ;;
    *) "$exe" ;;
  esac || status=1
done
read -r load_end _ </proc/loadavg
echo "bench.sh: 1-minute load average $load_end at the end"
exit $status
