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
#   scripts/setup.sh --test     also, where it can, headless Chromium and
#                               chromedriver for the serve page's browser test
set -euo pipefail

core=(build-essential cmake pkg-config
      libjpeg62-turbo-dev libpng-dev zlib1g-dev libexif-dev
      libmatio-dev libcjson-dev libzip-dev libexpat1-dev
      libopenblas-dev libcairo2-dev libssl-dev libdnnl-dev libmicrohttpd-dev
      fonts-dejavu-core help2man libsvm-tools
      libopenmpi-dev openmpi-bin
      python3 python3-numpy python3-pytest python3-setuptools python3-venv python3-pip)
bench=(libopencv-contrib-dev libopencv-dev python3-torch python3-torchvision python3-numpy)
fuzz=(clang libclang-rt-14-dev)
# The serve page's browser test (make test): best effort, the test skips
# with a message where chromium cannot be installed.
browser=(chromium chromium-driver)
dev=(python3-torch python3-numpy python3-scipy python3-pil python3-regex "${fuzz[@]}")

want=("${core[@]}")
optional=()
for arg in "$@"; do
  case "$arg" in
    --bench) want+=("${bench[@]}") ;;
    --dev) want+=("${dev[@]}") ;;
    --fuzz) want+=("${fuzz[@]}") ;;
    --test) optional=("${browser[@]}") ;;
    *) echo "setup.sh: unknown option '$arg' (use --bench, --dev, --fuzz or --test)" >&2; exit 2 ;;
  esac
done

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for p in "${want[@]}"; do
  installed "$p" || missing+=("$p")
done
missing_optional=()
for p in "${optional[@]}"; do
  installed "$p" || missing_optional+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ]; then
  exit 0
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    [ ${#missing[@]} -eq 0 ] && { echo "setup.sh: not root: skipping optional ${missing_optional[*]}" >&2; exit 0; }
    echo "setup.sh: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ${#missing_optional[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing_optional[*]} (optional)"
  $SUDO apt-get install -y -qq --no-install-recommends "${missing_optional[@]}" >/dev/null ||
    echo "setup.sh: could not install ${missing_optional[*]}; the tests that need them will skip" >&2
fi
