/*
 * docs/examples/score_image.c - score images with the installed library,
 * exactly as `lmmiqa score` does (same model, same numbers).
 *
 *   cc score_image.c $(pkg-config --cflags --libs lmmiqa) -o score_image
 *   ./score_image photo.jpg other.png
 *
 * Prints CSV "image,score" like `lmmiqa score`; exit 1 when an image fails.
 */
#include <lmmiqa/lmmiqa.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    lmmiqa_scorer_options opt;
    lmmiqa_scorer_options_init(&opt); /* the built-in model */
    lmmiqa_scorer *scorer = NULL;
    lmmiqa_scorer_state *state = NULL;
    if (lmmiqa_scorer_create(&opt, &scorer) != LMMIQA_OK ||
        lmmiqa_scorer_state_create(scorer, &state) != LMMIQA_OK) {
        fprintf(stderr, "score_image: %s\n", lmmiqa_error_message());
        lmmiqa_scorer_destroy(scorer);
        return 1;
    }
    double lo, hi;
    int higher_better;
    lmmiqa_scorer_scale(scorer, &lo, &hi, &higher_better);
    fprintf(stderr, "model %s (features %s), scale %g..%g, %s is better\n",
            lmmiqa_scorer_name(scorer), lmmiqa_scorer_features(scorer), lo, hi,
            higher_better ? "higher" : "lower");
    int failed = 0;
    printf("image,score\n");
    for (int i = 1; i < argc; i++) {
        lmmiqa_image *img = NULL;
        double q;
        if (lmmiqa_image_load(argv[i], &img) != LMMIQA_OK ||
            lmmiqa_scorer_run(scorer, state, img, &q, NULL) != LMMIQA_OK) {
            fprintf(stderr, "score_image: %s: %s\n", argv[i], lmmiqa_error_message());
            failed = 1;
        } else {
            printf("%s,%.6f\n", argv[i], q);
        }
        lmmiqa_image_destroy(img);
    }
    lmmiqa_scorer_state_destroy(state);
    lmmiqa_scorer_destroy(scorer);
    return failed;
}
