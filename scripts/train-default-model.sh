#!/usr/bin/env bash
# scripts/train-default-model.sh - train the built-in model
# (models/default-nss-livec.safetensors) on all 1162 LIVE Challenge images
# with the recipe `lmmiqa eval --features default` cross-validates
# (docs/default-model.md). Deterministic: the same build and data give the
# same bytes (tests/cli/default_model.sh checks it), so a rebuild can be
# compared with the committed file.
#
#   scripts/train-default-model.sh [--build DIR] [--out FILE] [--store DIR]
#
# --store keeps the extracted features (default: a temporary folder, removed
# afterwards). The model records its training command; the script runs it
# from a scratch folder with a fixed output name, so the command and
# therefore the bytes do not depend on --out or --store. Reconfigure the
# build afterwards (cmake -S . -B build) to embed a new model. Extraction
# uses every core; the features do not depend on the thread count.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=build
OUT=models/default-nss-livec.safetensors
STORE=
while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --store) STORE=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "train-default-model.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
case "$OUT" in /*) ;; *) OUT=$ROOT/$OUT ;; esac
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
if [ -z "$STORE" ]; then STORE=$SCRATCH/store; fi
case "$STORE" in /*) ;; *) STORE=$ROOT/$STORE ;; esac
export LMMIQA_STORE_DIR=$STORE
export LMMIQA_SHARED_DIR=${LMMIQA_SHARED_DIR:-$ROOT/../shared}
(cd "$SCRATCH" && "$BUILD/lmmiqa" train --features default --dataset livec --seed 1 \
    --quiet --out default-nss-livec.safetensors)
mkdir -p "$(dirname "$OUT")"
cp "$SCRATCH/default-nss-livec.safetensors" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "train-default-model.sh: $OUT ($(wc -c < "$OUT") bytes, sha256 $(sha256sum "$OUT" | cut -c1-16)...)"
