#!/bin/bash
# tests/cli/python.sh - the Python package's pytest suite (python/tests) over
# the built liblmmiqa.so: results equal the CLI's bit for bit, NumPy and bytes
# input equal file input, errors, leaks, threads, eval, `pip install` in a
# fresh venv. Runs Debian's python3 (python3-numpy, python3-pytest from
# scripts/setup.sh); skips where they are missing, and under sanitizers (an
# instrumented library cannot be loaded into a plain interpreter).
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
if [ -n "${LMMIQA_SANITIZED:-}" ]; then
    echo "SKIP: the Python package is tested in the plain build, not under sanitizers"
    exit 77
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
if ! "$PY" -c 'import numpy, pytest' 2>/dev/null; then
    echo "SKIP: $PY lacks numpy or pytest (scripts/setup.sh installs python3-numpy python3-pytest)"
    exit 77
fi
export LMMIQA_LIBRARY=$LMMIQA_BINARY_DIR/liblmmiqa.so
export PYTHONPATH=$LMMIQA_SOURCE_DIR/python
export PYTHONDONTWRITEBYTECODE=1
cd "$TMP" && "$PY" -m pytest -q -p no:cacheprovider "$LMMIQA_SOURCE_DIR/python/tests"
