#!/usr/bin/env bash
# scripts/man.sh CLI OUT - the man page lmmiqa.1 from the CLI's own help:
# help2man reads `lmmiqa --help` and `--version`; every command's `--help`
# becomes a section of its own, so the page never drifts from the binary.
set -euo pipefail
cli=$1
out=$2
inc=$(mktemp)
trap 'rm -f "$inc"' EXIT
{
    echo "[COMMANDS]"
    "$cli" --help | awk '/^  [a-z]/ { print $1 }' | while read -r c; do
        echo ".SS \"lmmiqa $c\""
        echo ".nf"
        "$cli" "$c" --help | sed 's/\\/\\e/g; s/^\./\\\&./'
        echo ".fi"
    done
    echo "[ENVIRONMENT]"
    echo ".TP"
    echo "LMMIQA_DATA_DIR"
    echo "where dataset names (livec, koniq10k, spaq, cid2013) are looked up"
    echo ".TP"
    echo "LMMIQA_STORE_DIR"
    echo "feature store folder (default \$XDG_CACHE_HOME/lmmiqa/features or ~/.cache/lmmiqa/features)"
    echo "[SEE ALSO]"
    echo "The documentation in /usr/share/doc/lmmiqa (docs/ of the source tree)."
} >"$inc"
help2man --no-info --name "blind image quality assessment" --include "$inc" \
    --output "$out" "$cli"
