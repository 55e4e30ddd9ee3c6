/*
 * tests/test_vit_preprocess.c - CLIP preprocessing against Pillow 9.4
 * (tests/data/vit/golden_preprocess.txt from tools/ref/clip_ref.py
 * --preprocess): the bicubic resize must be bit-exact (SHA-256 of the
 * resized RGB bytes) on LIVE Challenge images (shorter side to 224 and 96)
 * and on synthetic images for up- and downscaling in either axis; crop
 * offsets follow transformers (floor) and torchvision (round half to even);
 * the normalised tensor matches the float64 reference within 1e-6.
 * The LIVE part skips when ../shared is absent.
 */
#include "lmmiqa/image.h"
#include "lmmiqa/advanced/vit.h"
#include "core/internal.h"
#include "models/vit_internal.h"
#include "test.h"
#include "vit_test_util.h"

#define GOLDEN LMMIQA_SOURCE_DIR "/tests/data/vit/golden_preprocess.txt"

static void test_golden(void)
{
    FILE *f = fopen(GOLDEN, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    static char line[1 << 16];
    int resized = 0, crops = 0, tensors = 0, skipped = 0;
    while (fgets(line, sizeof line, f)) {
        char kind[16], src[256], sha_src[65], sha_dst[65], conv[8];
        int sw, sh, tw, th, size, left, top;
        if (sscanf(line, "%15s", kind) != 1 || kind[0] == '#')
            continue;
        if (strcmp(kind, "resize") == 0 &&
            sscanf(line, "%*s %255s %d %d %d %d %64s %64s", src, &sw, &sh, &tw, &th, sha_src,
                   sha_dst) == 7) {
            lmmiqa_image *img = NULL;
            if (strncmp(src, "livec:", 6) == 0) {
                if (!test_shared_dir()) {
                    skipped++;
                    continue;
                }
                static char full[8192];
                snprintf(full, sizeof full, "%s/data/livec/Images/%s", test_shared_dir(),
                         src + 6);
                CHECK_OK(lmmiqa_image_load(full, &img));
            } else {
                img = vt_synth_image(atoi(src + 6));
            }
            if (!img)
                continue;
            char hex[65];
            lmmiqa__sha256_hex(img->pixels, (size_t)img->width * img->height * 3, hex);
            CHECK_MSG(strcmp(hex, sha_src) == 0, "%s: decoded pixels differ from Pillow's", src);
            CHECK(img->width == sw && img->height == sh);
            uint8_t *dst = malloc((size_t)tw * th * 3);
            CHECK_OK(lmmiqa_resize_bicubic_pil(img->pixels, sw, sh, dst, tw, th));
            lmmiqa__sha256_hex(dst, (size_t)tw * th * 3, hex);
            CHECK_MSG(strcmp(hex, sha_dst) == 0, "%s %dx%d -> %dx%d differs from Pillow", src,
                      sw, sh, tw, th);
            if (strncmp(src, "livec:", 6) == 0) {
                int ow, oh;
                lmmiqa_clip_resize_size(sw, sh, tw < th ? tw : th, &ow, &oh);
                CHECK(ow == tw && oh == th);
            }
            free(dst);
            lmmiqa_image_destroy(img);
            resized++;
        } else if (strcmp(kind, "crop") == 0 &&
                   sscanf(line, "%*s %d %d %7s %d %d %d", &sw, &sh, conv, &size, &left, &top) ==
                       6) {
            /* offsets through the public preprocess: a marker image */
            lmmiqa_image *img = NULL;
            CHECK_OK(lmmiqa_image_create(sw, sh, &img));
            for (int y = 0; y < sh; y++)
                for (int x = 0; x < sw; x++) {
                    img->pixels[((size_t)y * sw + x) * 3] = (uint8_t)x;
                    img->pixels[((size_t)y * sw + x) * 3 + 1] = (uint8_t)y;
                }
            /* size == shorter side: no resize, only the crop */
            int s = sw < sh ? sw : sh;
            float *out = malloc(sizeof(float) * 3 * s * s);
            void *scratch = malloc(lmmiqa_clip_preprocess_scratch(sw, sh, s));
            lmmiqa_crop_rounding r = strcmp(conv, "hf") == 0 ? LMMIQA_CROP_FLOOR : LMMIQA_CROP_ROUND;
            CHECK_OK(lmmiqa_clip_preprocess(img, s, r, scratch, out));
            if (s == size) {
                int gx = (int)lround((out[0] * 0.26862954 + 0.48145466) * 255.0);
                int gy = (int)lround((out[(size_t)s * s] * 0.26130258 + 0.4578275) * 255.0);
                CHECK_MSG(gx == (left & 255) && gy == (top & 255), "crop %dx%d %s: got %d,%d want %d,%d",
                          sw, sh, conv, gx, gy, left, top);
            }
            free(scratch);
            free(out);
            lmmiqa_image_destroy(img);
            crops++;
        } else if (strcmp(kind, "tensor") == 0 &&
                   sscanf(line, "%*s %255s %7s %d", src, conv, &size) == 3) {
            lmmiqa_image *img = vt_synth_image(atoi(src + 6));
            float *out = malloc(sizeof(float) * 3 * size * size);
            void *scratch = malloc(lmmiqa_clip_preprocess_scratch(img->width, img->height, size));
            CHECK_OK(lmmiqa_clip_preprocess(img, size,
                                            strcmp(conv, "hf") == 0 ? LMMIQA_CROP_FLOOR
                                                                    : LMMIQA_CROP_ROUND,
                                            scratch, out));
            char *p = strstr(line, conv) + strlen(conv);
            strtol(p, &p, 10);
            double md = 0;
            for (int i = 0; i < 3 * size * size; i += 97)
                md = fmax(md, fabs(out[i] - strtod(p, &p)));
            CHECK_MSG(md <= 1e-6, "tensor %s %s: max diff %.3g", src, conv, md);
            free(scratch);
            free(out);
            lmmiqa_image_destroy(img);
            tensors++;
        }
    }
    fclose(f);
    fprintf(stderr, "  %d resizes, %d crops, %d tensors checked, %d skipped (no ../shared)\n",
            resized, crops, tensors, skipped);
    CHECK(resized >= 13 && crops == 10 && tensors == 2);
}

static void test_bad_args(void)
{
    uint8_t px[12] = {0};
    uint8_t out[12];
    CHECK(lmmiqa_resize_bicubic_pil(px, 0, 2, out, 2, 2) == LMMIQA_ERR_INVALID_ARG);
    CHECK(lmmiqa_resize_bicubic_pil(px, 2, 2, out, 2, -1) == LMMIQA_ERR_INVALID_ARG);
    CHECK_OK(lmmiqa_resize_bicubic_pil(px, 2, 2, out, 2, 2));
    /* 1x1 and extreme aspect ratios stay in bounds */
    CHECK_OK(lmmiqa_resize_bicubic_pil(px, 1, 1, out, 2, 2));
    uint8_t *big = calloc(3 * 2000, 1);
    CHECK_OK(lmmiqa_resize_bicubic_pil(big, 2000, 1, out, 4, 1));
    free(big);
    int w, h;
    lmmiqa_clip_resize_size(640, 960, 224, &w, &h);
    CHECK(w == 224 && h == 336);
    lmmiqa_clip_resize_size(299, 224, 224, &w, &h);
    CHECK(w == 299 && h == 224);
    lmmiqa_clip_resize_size(1000, 3, 224, &w, &h);
    CHECK(w == 74666 && h == 224);
}

int main(void)
{
    RUN(test_golden);
    RUN(test_bad_args);
    return test_finish();
}
