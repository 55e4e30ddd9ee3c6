/*
 * tests/model_test_util.h - the tiny configurations of the models lmmiqa
 * trains itself, shared by the tests that train or run them (test_cnniqa.c,
 * test_metaiqa.c, test_scorer.c): small enough for CI, one thread, a fixed
 * seed.
 */
#ifndef LMMIQA_MODEL_TEST_UTIL_H
#define LMMIQA_MODEL_TEST_UTIL_H

#include "lmmiqa/advanced/cnniqa.h"
#include "lmmiqa/advanced/metaiqa.h"

/* CNNIQA with 4 filters and a 16-wide FC, 2 epochs of 3 patches an image. */
static inline void tiny_cnniqa_config(lmmiqa_cnniqa_config *c)
{
    lmmiqa_cnniqa_config_init(c);
    c->filters = 4;
    c->fc = 16;
    c->batch = 5;
    c->patches_per_image = 3;
    c->epochs = 2;
    c->lr = 1e-2;
    c->seed = 5;
    c->threads = 1;
}

/* MetaIQA's ResNet-18 layout at base width 4, 32x32 crops, head 10-16-8-1. */
static inline void tiny_metaiqa_config(lmmiqa_metaiqa_config *c)
{
    lmmiqa_metaiqa_config_init(c);
    c->width = 4;
    c->classes = 10;
    c->hidden1 = 16;
    c->hidden2 = 8;
    c->train_size = 40;
    c->crop = 32;
    c->epochs = 2;
    c->batch = 2;
    c->lr = 1e-3;
    c->seed = 3;
    c->threads = 1;
}

#endif
