# tests/cli/lib/common.bash - the preamble every CLI shell test shares, sourced
# by tests/cli/*.sh (this file is not a test itself: CMake only turns
# tests/cli/*.sh into ctests). It sets CLI (the lmmiqa binary under test),
# TMP (a scratch folder removed on exit), fail (0 until a check fails) and
# defines:
#   check DESCRIPTION COMMAND...   run COMMAND; print "ok" or "FAIL" + description
#   need_livec [FILE...]           set SHARED and LIVEC (the LIVE Challenge folder);
#                                  exit 77 (skip) unless livec.csv and every FILE
#                                  (a path relative to SHARED) exist
set -u
CLI=${LMMIQA_CLI:?LMMIQA_CLI must name the lmmiqa binary}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
check() { # description, command...
    local what=$1
    shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}
need_livec() { # extra required files, relative to $SHARED...
    SHARED=${LMMIQA_SHARED_DIR:-${LMMIQA_SOURCE_DIR:-.}/../shared}
    LIVEC=$SHARED/data/livec
    local f
    for f in data/livec/livec.csv "$@"; do
        f=$SHARED/$f
        if [ ! -f "$f" ]; then
            echo "SKIP: $f not found"
            exit 77
        fi
    done
}
