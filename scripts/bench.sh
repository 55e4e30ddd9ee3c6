#!/usr/bin/env bash
# scripts/bench.sh BUILD_DIR - run every benchmark with its peer side by side
# (`make bench`). Each benchmark prints its own table; see bench/*.c for the
# options of a longer or narrower run. The whole set takes several minutes on
# 2 cores (the transformer and EfficientNet runs dominate); name benchmarks
# to run a subset: scripts/bench.sh build brisque regressor
set -uo pipefail
build=${1:-build}
shift || true
all=(brisque regressor train vit align python mpi)
want=("$@")
[ ${#want[@]} -eq 0 ] && want=("${all[@]}")
status=0
for b in "${want[@]}"; do
  exe="$build/bench/bench_$b"
  echo "==================== bench_$b"
  if [ "$b" = mpi ]; then
    bash "$(dirname "$0")/../bench/bench_mpi.sh" "$build" || status=1
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
    brisque) "$exe" "$(dirname "$0")/../../shared/data/livec/Images/1000.JPG" ;;
    *) "$exe" ;;
  esac || status=1
done
exit $status
