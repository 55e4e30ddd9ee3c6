#!/bin/bash
# tests/cli/install.sh - the installed library as a user sees it: install the
# build into a temporary prefix, build docs/examples/score_image.c against it
# with pkg-config (shared, and static with --static) and with CMake's
# find_package(lmmiqa), run each on generated images and compare with the
# installed `lmmiqa score` byte for byte. Also checks the shared library's
# soname and that it exports public (lmmiqa_) symbols only, the man page, the
# pkg-config file and the headers' self-sufficiency.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.bash"
B=${LMMIQA_BINARY_DIR:?}
S=${LMMIQA_SOURCE_DIR:?}
P=$TMP/prefix
cmake --install "$B" --prefix "$P" >"$TMP/install.log" 2>&1
check "cmake --install exit 0" test $? -eq 0
LIBDIR=$(ls -d "$P"/lib*/ | head -1)
check "shared library installed with soname" test -L "$LIBDIR/liblmmiqa.so"
check "soname is liblmmiqa.so.MAJOR.MINOR" sh -c "objdump -p '$LIBDIR/liblmmiqa.so' | grep -q 'SONAME *liblmmiqa.so.0.2'"
check "static library installed" test -f "$LIBDIR/liblmmiqa.a"
nm -D --defined-only "$LIBDIR/liblmmiqa.so" | awk '$2 ~ /^[TDBR]$/ { print $3 }' >"$TMP/syms"
check "exports some lmmiqa_ functions" grep -q '^lmmiqa_scorer_create$' "$TMP/syms"
check "exports nothing but lmmiqa_" sh -c "! grep -v '^lmmiqa_' '$TMP/syms' | grep -v '^_' | grep -q ."
check "no internal lmmiqa__ symbol exported" sh -c "! grep -q '^lmmiqa__' '$TMP/syms'"
check "CLI installed" test -x "$P/bin/lmmiqa"
check "headers installed" test -f "$P/include/lmmiqa/lmmiqa.h"
check "advanced headers installed" test -f "$P/include/lmmiqa/advanced/vit.h"
check "pkg-config file installed" test -f "$LIBDIR/pkgconfig/lmmiqa.pc"
check "CMake package installed" test -f "$LIBDIR/cmake/lmmiqa/lmmiqa-config.cmake"
if command -v help2man >/dev/null; then
    check "man page installed" test -s "$P/share/man/man1/lmmiqa.1"
    check "man page has every command" grep -q 'lmmiqa eval' "$P/share/man/man1/lmmiqa.1"
fi
check "docs installed" test -f "$P/share/doc/lmmiqa/cli.md"

# Every public header compiles on its own, in C and C++.
for h in "$P"/include/lmmiqa/*.h "$P"/include/lmmiqa/advanced/*.h; do
    rel=${h#"$P"/include/}
    printf '#include <%s>\nint main(void) { return 0; }\n' "$rel" >"$TMP/h.c"
    cc -std=c11 -Wall -Wextra -Werror -I"$P/include" -c "$TMP/h.c" -o "$TMP/h.o" 2>>"$TMP/hdr.log" ||
        echo "header $rel does not compile alone" >>"$TMP/hdr.err"
    c++ -x c++ -Wall -Werror -I"$P/include" -c "$TMP/h.c" -o "$TMP/h.o" 2>>"$TMP/hdr.log" ||
        echo "header $rel does not compile in C++" >>"$TMP/hdr.err"
done
check "every public header compiles alone (C and C++)" test ! -s "$TMP/hdr.err"
[ -s "$TMP/hdr.err" ] && cat "$TMP/hdr.err"

# Generated images; the installed CLI (from another directory) is the reference.
"$B/gen_samples" "$TMP/img" --size 256x192 >/dev/null 2>&1
ls "$TMP"/img/*.png "$TMP"/img/*.jpg 2>/dev/null | head -4 >"$TMP/list"
check "sample images made" test "$(wc -l <"$TMP/list")" -ge 2
mapfile -t IMGS <"$TMP/list"
(cd "$TMP" && "$P/bin/lmmiqa" score "${IMGS[@]}") >"$TMP/cli.csv" 2>"$TMP/err"
check "installed CLI scores" test $? -eq 0
used=$(ldd "$P/bin/lmmiqa" | awk '/liblmmiqa/ { print $3 }')
check "installed CLI uses the installed library" test "$(readlink -f "$used")" = "$(readlink -f "$LIBDIR/liblmmiqa.so")"

export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
# A sanitized library needs its runtime linked first into the program too.
SAN=
[ -n "${LMMIQA_SANITIZED:-}" ] && SAN="-fsanitize=address,undefined"
cc -std=c11 -Wall -Wextra -Werror $SAN "$S/docs/examples/score_image.c" \
    $(pkg-config --cflags --libs lmmiqa) -Wl,-rpath,"$LIBDIR" -o "$TMP/ex_pc" 2>"$TMP/cc.log"
check "example builds with pkg-config" test $? -eq 0
"$TMP/ex_pc" "${IMGS[@]}" >"$TMP/pc.csv" 2>/dev/null
check "pkg-config build scores exactly as the CLI" cmp -s "$TMP/cli.csv" "$TMP/pc.csv"

cc -std=c11 -Wall -Wextra -Werror $SAN "$S/docs/examples/score_image.c" \
    $(pkg-config --static --cflags --libs lmmiqa | sed "s|-llmmiqa|$LIBDIR/liblmmiqa.a|") \
    -o "$TMP/ex_static" 2>"$TMP/ccs.log"
check "example links the static library (pkg-config --static)" test $? -eq 0
"$TMP/ex_static" "${IMGS[@]}" >"$TMP/st.csv" 2>/dev/null
check "static build scores exactly as the CLI" cmp -s "$TMP/cli.csv" "$TMP/st.csv"

cmake -S "$S/docs/examples" -B "$TMP/exb" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_FLAGS="$SAN" >"$TMP/cm.log" 2>&1 &&
    cmake --build "$TMP/exb" >>"$TMP/cm.log" 2>&1
check "example builds with find_package(lmmiqa)" test $? -eq 0
"$TMP/exb/score_image" "${IMGS[@]}" >"$TMP/cm.csv" 2>/dev/null
check "find_package build scores exactly as the CLI" cmp -s "$TMP/cli.csv" "$TMP/cm.csv"
[ $fail -ne 0 ] && { cat "$TMP/cc.log" "$TMP/ccs.log" "$TMP/cm.log" 2>/dev/null | tail -20; }
exit $fail
