/*
 * src/models/metaiqa_internal.h - MetaIQA's network (torchvision ResNet-18
 * backbone + regression head) as batch forward/backward passes over the nn
 * engine, shared by the trainer, the extractor and the PyTorch parity test.
 */
#ifndef LMMIQA_METAIQA_INTERNAL_H
#define LMMIQA_METAIQA_INTERNAL_H

#include "lmmiqa/advanced/metaiqa.h"
#include "nn/nn.h"

/* conv (no bias) + batch norm, tensor indices into the parameter store */
typedef struct lmmiqa__convbn {
    lmmiqa_nn_conv2d conv;
    int w, gamma, beta, rmean, rvar;
} lmmiqa__convbn;

typedef struct lmmiqa__basic_block {
    lmmiqa__convbn c1, c2, down;
    int has_down;
} lmmiqa__basic_block;

struct lmmiqa_metaiqa {
    lmmiqa_metaiqa_config cfg;
    lmmiqa_nn_params params;
    lmmiqa__convbn stem;
    lmmiqa__basic_block blocks[8];
    int fc_w, fc_b;                       /* resnet_layer.fc */
    int h_fc1_w, h_fc1_b, h_fc2_w, h_fc2_b, h_fc3_w, h_fc3_b;
    int h_bn1[4], h_bn2[4];               /* weight, bias, running_mean, running_var */
    int h_prelu1, h_prelu2;
};

/* Declare every tensor (torchvision/MetaIQA state_dict order) and allocate. */
int lmmiqa__metaiqa_declare(lmmiqa_metaiqa *m);

typedef struct lmmiqa__metaiqa_work lmmiqa__metaiqa_work;

/* Work space for batches of up to cap images of h x w. */
int lmmiqa__metaiqa_work_create(const lmmiqa_metaiqa *m, int cap, int h, int w,
                                lmmiqa__metaiqa_work **out);
void lmmiqa__metaiqa_work_destroy(lmmiqa__metaiqa_work *w);
/* The input block [cap, 3, h, w] to fill before forward. */
float *lmmiqa__metaiqa_work_input(lmmiqa__metaiqa_work *w);
/* The 512-d features [n, hidden2] of the last forward. */
const float *lmmiqa__metaiqa_work_feature(const lmmiqa__metaiqa_work *w);
/* Forward of n images; training: batch statistics (updating the running
 * ones) and dropout from rng. Returns the scores [n]. */
const float *lmmiqa__metaiqa_forward(lmmiqa_metaiqa *m, lmmiqa__metaiqa_work *w, int n,
                                     int training, lmmiqa_rng *rng);
/* Backward of the last forward from dL/dscore [n]; accumulates gradients. */
void lmmiqa__metaiqa_backward(lmmiqa_metaiqa *m, lmmiqa__metaiqa_work *w, int n,
                              const float *dout);

#endif
