/*
 * src/image/gray.c - RGB to grey, exactly as MATLAB's rgb2gray on uint8.
 *
 * MATLAB converts with the NTSC luma weights of its rgb2ntsc matrix inverse,
 * (0.298936021293775, 0.587043074451121, 0.114020904255103), sums in double
 * in R, G, B order and rounds half away from zero into uint8 (saturating).
 * We do the same arithmetic, so BRISQUE features computed here see the same
 * grey image MATLAB's reference implementation saw. round() of a
 * non-negative sum is round-half-away; the weights sum to just under 1, so
 * the clamp never fires on valid input but guards the contract.
 */
#include "image_internal.h"

#include <assert.h>
#include <math.h>

void lmmiqa_image_to_gray(const lmmiqa_image *img, uint8_t *gray)
{
    assert(img && gray && img->channels == 3);
    const double wr = 0.298936021293775, wg = 0.587043074451121, wb = 0.114020904255103;
    size_t n = (size_t)img->width * (size_t)img->height;
    const uint8_t *p = img->pixels;
    for (size_t i = 0; i < n; i++, p += 3) {
        double v = round(wr * p[0] + wg * p[1] + wb * p[2]);
        gray[i] = (uint8_t)(v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v);
    }
}
