#!/usr/bin/env bash
# scripts/fuzz.sh BUILD_DIR - run every libFuzzer target in BUILD_DIR/fuzz
# for FUZZ_SECONDS (default 60) each, starting from a seed corpus of small
# valid files generated here at run time (nothing big is committed):
# BUILD_DIR/fuzz-tools/make_seeds writes one folder per target with files
# made by the library's own writers (models, weights, .npy, splits, CSV,
# xlsx, .mat, PNG/JPEG/BMP) plus the checked-in tests/data/vit files; the
# image target also gets Pillow-made variants when Pillow is installed.
# FUZZ_TARGETS="csv npy" runs only those targets.
#
# Build first:  make fuzz-build   (clang; or: CC=clang cmake -S . -B build-fuzz
#               -DLMMIQA_FUZZ=ON -DLMMIQA_BENCH=OFF && cmake --build build-fuzz --target fuzzers)
# Findings are written to BUILD_DIR/fuzz-artifacts/<target>/ (crash-*,
# leak-*, timeout-*); the script exits 1 if a target found anything. Each
# target's last coverage line (cov: = coverage points, ft: = features) is
# printed. Reproduce a finding with:
#   BUILD_DIR/fuzz/<target> BUILD_DIR/fuzz-artifacts/<target>/crash-...
set -euo pipefail
build=${1:?usage: scripts/fuzz.sh BUILD_DIR}
secs=${FUZZ_SECONDS:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$build/fuzz" ] || { echo "fuzz.sh: no $build/fuzz: build with -DLMMIQA_FUZZ=ON and CC=clang" >&2; exit 2; }

seeds=$build/fuzz-seeds
rm -rf "$seeds"
mkdir -p "$seeds/image"
"$build/fuzz-tools/make_seeds" "$seeds" "$src" || { echo "fuzz.sh: make_seeds failed" >&2; exit 2; }
# More seeds for fuzz_image, where Pillow is installed: every decoder path in
# a few hundred bytes each.
if /usr/bin/python3 -c 'import PIL' 2>/dev/null; then
/usr/bin/python3 - "$seeds/image" <<'PY'
import io, struct, sys
from PIL import Image
out = sys.argv[1]
def save(name, im, **kw):
    im.save(f"{out}/{name}", **kw)
rgb = Image.new("RGB", (13, 9))
rgb.putdata([((x * 19) % 256, (y * 29) % 256, (x * y * 7) % 256) for y in range(9) for x in range(13)])
save("base.jpg", rgb, format="JPEG", quality=70)
save("prog.jpg", rgb, format="JPEG", quality=70, progressive=True)
save("444.jpg", rgb, format="JPEG", quality=90, subsampling=0)
save("gray.jpg", rgb.convert("L"), format="JPEG", quality=70)
save("cmyk.jpg", rgb.convert("CMYK"), format="JPEG", quality=70)
exif = Image.Exif(); exif[0x0112] = 6
save("exif6.jpg", rgb, format="JPEG", quality=70, exif=exif.tobytes())
save("rgb.png", rgb, format="PNG")
save("rgba.png", rgb.convert("RGBA"), format="PNG")
save("la.png", rgb.convert("LA"), format="PNG")
save("pal.png", rgb.convert("P", palette=Image.ADAPTIVE, colors=16), format="PNG", transparency=3)
save("gray16.png", rgb.convert("I").point(lambda v: v * 257).convert("I;16"), format="PNG")
save("bits1.png", rgb.convert("1"), format="PNG")
save("rgb.bmp", rgb, format="BMP")
save("pal.bmp", rgb.convert("P", palette=Image.ADAPTIVE, colors=16), format="BMP")
save("bits1.bmp", rgb.convert("1"), format="BMP")
# 32-bit BI_BITFIELDS, V5 header, top-down: written by hand.
w, h = 5, 3
px = b"".join(struct.pack("<I", 0xFF000000 | (x * 40 << 16) | (y * 80 << 8) | 128) for y in range(h) for x in range(w))
hdr = struct.pack("<IiiHHIIiiII", 124, w, -h, 1, 32, 3, len(px), 2835, 2835, 0, 0)
hdr += struct.pack("<IIII", 0xFF0000, 0xFF00, 0xFF, 0xFF000000) + b"\0" * (124 - 56)
open(f"{out}/bitfields.bmp", "wb").write(b"BM" + struct.pack("<IHHI", 14 + 124 + len(px), 0, 0, 14 + 124) + hdr + px)
PY
fi

status=0
for target in "$build"/fuzz/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  kind=${name#fuzz_}
  if [ -n "${FUZZ_TARGETS:-}" ] && ! grep -qw "$kind" <<<"$FUZZ_TARGETS"; then
    continue
  fi
  corpus=$build/fuzz-corpus/$name
  artifacts=$build/fuzz-artifacts/$name/
  mkdir -p "$corpus" "$artifacts"
  seed_dir=$seeds/$kind
  [ -d "$seed_dir" ] || { echo "fuzz.sh: no seeds for $name" >&2; exit 2; }
  maxlen=65536
  [ "$kind" = torchzip ] && maxlen=262144 # its seed, a whole checkpoint, is 171 KiB
  # libmatio allocates whatever size a .mat's array header declares; beyond
  # the machine, calloc returns NULL and matio fails cleanly, as in production,
  # where ASan would abort by default (docs/reliability.md).
  asan=${ASAN_OPTIONS:-}
  [ "$kind" = mat ] && asan=allocator_may_return_null=1${asan:+:$asan}
  echo "fuzz.sh: $name for ${secs}s (corpus $corpus)"
  if ! ASAN_OPTIONS=$asan "$target" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=$maxlen \
       -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" $seed_dir \
       > "$build/fuzz-$name.log" 2>&1; then
    echo "fuzz.sh: $name FOUND A PROBLEM; see $build/fuzz-$name.log and $artifacts" >&2
    tail -40 "$build/fuzz-$name.log" >&2
    status=1
  else
    echo "  $(grep -E '^#[0-9]+[[:space:]].*cov:' "$build/fuzz-$name.log" | tail -1)"
    grep -E "stat::number_of_executed_units" "$build/fuzz-$name.log" | sed 's/^/  /' || true
  fi
done
exit $status
