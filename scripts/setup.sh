#!/usr/bin/env bash
# scripts/setup.sh - install every Debian package lmmiqa needs. The only
# install step; idempotent and non-interactive. Runs apt-get only when a
# package is missing.
#
#   scripts/setup.sh            build + test dependencies
#   scripts/setup.sh --bench    also the peers the benchmarks compare with
#                               (OpenCV 4.6 contrib, PyTorch 1.13)
#   scripts/setup.sh --dev      also the reference tools (PyTorch, NumPy,
#                               SciPy, Pillow, regex) and clang for fuzzing
#   scripts/setup.sh --fuzz     only clang and its fuzzer runtime (CI's
#                               `make fuzz-build`)
set -euo pipefail

core=(build-essential cmake pkg-config
      libjpeg62-turbo-dev libpng-dev zlib1g-dev libexif-dev
      libmatio-dev libcjson-dev libzip-dev libexpat1-dev
      libopenblas-dev libcairo2-dev libssl-dev libdnnl-dev libmicrohttpd-dev
      libopenmpi-dev openmpi-bin
      fonts-dejavu-core help2man
      python3 python3-numpy python3-pytest python3-setuptools python3-venv python3-pip)
bench=(libopencv-contrib-dev libopencv-dev python3-torch python3-numpy)
fuzz=(clang libclang-rt-14-dev)
dev=(python3-torch python3-numpy python3-scipy python3-pil python3-regex "${fuzz[@]}")

want=("${core[@]}")
for arg in "$@"; do
  case "$arg" in
    --bench) want+=("${bench[@]}") ;;
    --dev) want+=("${dev[@]}") ;;
    --fuzz) want+=("${fuzz[@]}") ;;
    *) echo "setup.sh: unknown option '$arg' (use --bench, --dev or --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup.sh: installing ${missing[*]}"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
