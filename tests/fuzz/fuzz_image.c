/*
 * tests/fuzz/fuzz_image.c - libFuzzer target for the image decoders (JPEG,
 * PNG, BMP, EXIF): any byte string must decode to a valid image or fail with
 * a status and a message naming the input; never crash, leak or hang.
 *
 * The pixel limit is lowered to 4 M pixels so that headers claiming large
 * (but legal) sizes do not exhaust the fuzzer's memory budget. The last byte
 * picks whether EXIF orientation is applied, so both paths are explored.
 */
#include "image/image_internal.h"
#include "lmmiqa/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char name[] = "fuzz-input";
    unsigned flags = size > 0 && (data[size - 1] & 1u) ? LMMIQA_IMAGE_IGNORE_EXIF : 0;
    lmmiqa_image *img = NULL;
    int rc = lmmiqa_image_decode_limited(data, size, name, flags, 1u << 22, &img);
    if (rc == LMMIQA_OK) {
        if (!img || img->width < 1 || img->height < 1 || img->channels != 3 ||
            (uint64_t)img->width * (uint64_t)img->height > (1u << 22))
            abort();
        uint8_t *gray = malloc((size_t)img->width * (size_t)img->height);
        if (gray) {
            lmmiqa_image_to_gray(img, gray);
            free(gray);
        }
        lmmiqa_image_destroy(img);
    } else if (img != NULL || rc < 0 || rc == LMMIQA_ERR_INTERNAL ||
               !strstr(lmmiqa_error_message(), name)) {
        abort();
    }
    return 0;
}
