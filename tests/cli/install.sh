#!/bin/bash
# tests/cli/install.sh - the installed library as a user sees it: install the
# build into a temporary prefix, build docs/examples/score_image.c against it
# with pkg-config (shared, and static with --static) and with CMake's
# find_package(lmmiqa), run each on generated images and compare with the
# installed `lmmiqa score` byte for byte. Also checks the shared library's
# soname and that it exports public (lmmiqa_) symbols only, the man page, the
# pkg-config file and the headers' self-sufficiency. The plot library
# (liblmmiqa-plot, the only one that links cairo): docs/examples/plot_scatter.c
# built with `pkg-config lmmiqa-plot` and find_package(lmmiqa COMPONENTS plot)
# draws a PNG; a BRISQUE-only program linked with `pkg-config lmmiqa` does not
# load cairo.
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
check "the core library does not link cairo" sh -c "! objdump -p '$LIBDIR/liblmmiqa.so' | grep NEEDED | grep -q cairo"
check "the core library exports nothing of cairo" sh -c "! grep -qi cairo '$TMP/syms'"
check "plot library installed with soname" sh -c "objdump -p '$LIBDIR/liblmmiqa-plot.so' | grep -q 'SONAME *liblmmiqa-plot.so.0.2'"
check "plot library links the core library and cairo" sh -c "objdump -p '$LIBDIR/liblmmiqa-plot.so' | grep NEEDED | grep -q liblmmiqa.so.0.2 && objdump -p '$LIBDIR/liblmmiqa-plot.so' | grep NEEDED | grep -q cairo"
check "static plot library installed" test -f "$LIBDIR/liblmmiqa-plot.a"
nm -D --defined-only "$LIBDIR/liblmmiqa-plot.so" | awk '$2 ~ /^[TDBR]$/ { print $3 }' >"$TMP/plot_syms"
check "plot library exports lmmiqa_plot_ functions only" sh -c "grep -q '^lmmiqa_plot_scatter$' '$TMP/plot_syms' && ! grep -v '^lmmiqa_plot_' '$TMP/plot_syms' | grep -v '^_' | grep -q ."
check "CLI installed" test -x "$P/bin/lmmiqa"
check "headers installed" test -f "$P/include/lmmiqa/lmmiqa.h"
check "advanced headers installed" test -f "$P/include/lmmiqa/advanced/vit.h"
check "pkg-config file installed" test -f "$LIBDIR/pkgconfig/lmmiqa.pc"
check "plot pkg-config file installed" test -f "$LIBDIR/pkgconfig/lmmiqa-plot.pc"
check "lmmiqa.pc does not mention cairo" sh -c "! grep -q cairo '$LIBDIR/pkgconfig/lmmiqa.pc'"
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
used=$(ldd "$P/bin/lmmiqa" | awk '/liblmmiqa\.so/ { print $3 }')
check "installed CLI uses the installed library" test "$(readlink -f "$used")" = "$(readlink -f "$LIBDIR/liblmmiqa.so")"
used=$(ldd "$P/bin/lmmiqa" | awk '/liblmmiqa-plot\.so/ { print $3 }')
check "installed CLI uses the installed plot library" test "$(readlink -f "$used")" = "$(readlink -f "$LIBDIR/liblmmiqa-plot.so")"

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

# A BRISQUE-only program: links liblmmiqa alone and never loads cairo.
cat >"$TMP/brisque_only.c" <<'EOF'
#include <lmmiqa/lmmiqa.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    lmmiqa_image *img = NULL;
    lmmiqa_brisque_state *st = NULL;
    double f[LMMIQA_BRISQUE_DIM];
    int rc = argc == 2 ? lmmiqa_image_load(argv[1], &img) : LMMIQA_ERR_INVALID_ARG;
    if (rc == LMMIQA_OK)
        rc = lmmiqa_brisque_state_create(&st);
    if (rc == LMMIQA_OK)
        rc = lmmiqa_brisque_features(st, img, f);
    if (rc == LMMIQA_OK)
        printf("%s %.6f\n", lmmiqa_brisque_feature_name(0), f[0]);
    else
        fprintf(stderr, "brisque_only: %s\n", lmmiqa_error_message());
    lmmiqa_brisque_state_destroy(st);
    lmmiqa_image_destroy(img);
    return rc != LMMIQA_OK;
}
EOF
cc -std=c11 -Wall -Wextra -Werror $SAN "$TMP/brisque_only.c" \
    $(pkg-config --cflags --libs lmmiqa) -Wl,-rpath,"$LIBDIR" -o "$TMP/brisque_only" 2>"$TMP/ccb.log"
check "BRISQUE-only program builds with pkg-config lmmiqa" test $? -eq 0
"$TMP/brisque_only" "${IMGS[0]}" >"$TMP/brisque.out" 2>&1
check "BRISQUE-only program runs" grep -q '^s1_ggd_alpha ' "$TMP/brisque.out"
check "BRISQUE-only program does not load cairo" sh -c "ldd '$TMP/brisque_only' | grep -q liblmmiqa.so && ! ldd '$TMP/brisque_only' | grep -q cairo"

# The plot library through pkg-config (shared, and static with --static).
cc -std=c11 -Wall -Wextra -Werror $SAN "$S/docs/examples/plot_scatter.c" \
    $(pkg-config --cflags --libs lmmiqa-plot) -Wl,-rpath,"$LIBDIR" -o "$TMP/plot_pc" 2>"$TMP/ccp.log"
check "plot example builds with pkg-config lmmiqa-plot" test $? -eq 0
"$TMP/plot_pc" "$TMP/pc.png" >/dev/null 2>&1
check "pkg-config plot example draws a PNG" sh -c "head -c 4 '$TMP/pc.png' | grep -q PNG"
check "pkg-config plot example loads both libraries" sh -c "ldd '$TMP/plot_pc' | grep -q liblmmiqa-plot.so && ldd '$TMP/plot_pc' | grep -q 'liblmmiqa.so'"
PLOT_STATIC=$(pkg-config --static --cflags --libs lmmiqa-plot |
    sed -e "s|-llmmiqa-plot|$LIBDIR/liblmmiqa-plot.a|" -e "s|-llmmiqa |$LIBDIR/liblmmiqa.a |")
cc -std=c11 -Wall -Wextra -Werror $SAN "$S/docs/examples/plot_scatter.c" $PLOT_STATIC \
    -o "$TMP/plot_static" 2>"$TMP/ccps.log"
check "plot example links the static libraries (pkg-config --static)" test $? -eq 0
"$TMP/plot_static" "$TMP/st.png" >/dev/null 2>&1
check "static plot example draws the same PNG" cmp -s "$TMP/pc.png" "$TMP/st.png"

cmake -S "$S/docs/examples" -B "$TMP/exb" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_FLAGS="$SAN" >"$TMP/cm.log" 2>&1 &&
    cmake --build "$TMP/exb" >>"$TMP/cm.log" 2>&1
check "examples build with find_package(lmmiqa COMPONENTS plot)" test $? -eq 0
"$TMP/exb/score_image" "${IMGS[@]}" >"$TMP/cm.csv" 2>/dev/null
check "find_package build scores exactly as the CLI" cmp -s "$TMP/cli.csv" "$TMP/cm.csv"
check "find_package score example does not load cairo" sh -c "! ldd '$TMP/exb/score_image' | grep -q cairo"
"$TMP/exb/plot_scatter" "$TMP/cm.png" >/dev/null 2>&1
check "find_package(lmmiqa COMPONENTS plot) example draws the same PNG" cmp -s "$TMP/pc.png" "$TMP/cm.png"
[ $fail -ne 0 ] && { cat "$TMP/cc.log" "$TMP/ccs.log" "$TMP/ccb.log" "$TMP/ccp.log" "$TMP/ccps.log" "$TMP/cm.log" 2>/dev/null | tail -20; }
exit $fail
