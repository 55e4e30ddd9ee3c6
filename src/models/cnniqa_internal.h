/*
 * src/models/cnniqa_internal.h - CNNIQA's batch forward/backward, shared by
 * the trainer, the extractor and the PyTorch parity test.
 */
#ifndef LMMIQA_CNNIQA_INTERNAL_H
#define LMMIQA_CNNIQA_INTERNAL_H

#include "lmmiqa/advanced/cnniqa.h"
#include "nn/nn.h"

struct lmmiqa_cnniqa {
    lmmiqa_cnniqa_config cfg;
    lmmiqa_nn_params params;
    lmmiqa_nn_conv2d conv;
    int conv_w, conv_b, fc1_w, fc1_b, fc2_w, fc2_b, fc3_w, fc3_b; /* tensor indices */
};

/* Activations and gradients of a batch of up to `cap` patches. */
typedef struct lmmiqa__cnniqa_work {
    int cap;
    float *x;       /* [cap, 1, p, p] input patches (LCN) */
    float *conv;    /* [cap, filters, q, q] */
    float *pmax, *pmin;   /* [cap, filters] */
    int32_t *imax, *imin; /* [cap, filters] */
    float *pool;    /* [cap, 2*filters] = cat(max, min) */
    float *h1, *mask, *h1d, *h2; /* [cap, fc] */
    float *out;     /* [cap] */
    float *dpool, *dh1, *dh2, *dout, *dconv;
    float *scratch;
    lmmiqa_nn_conv2d_plan *plan; /* oneDNN plan for full batches, or NULL */
} lmmiqa__cnniqa_work;

int lmmiqa__cnniqa_work_init(const lmmiqa_cnniqa *m, int cap, lmmiqa__cnniqa_work *w);
void lmmiqa__cnniqa_work_free(lmmiqa__cnniqa_work *w);
/* Forward of n <= cap patches in w->x; training enables dropout from rng. */
void lmmiqa__cnniqa_forward(const lmmiqa_cnniqa *m, lmmiqa__cnniqa_work *w, int n, int training,
                            lmmiqa_rng *rng);
/* Backward from w->dout[n]; accumulates into the model's gradient block. */
void lmmiqa__cnniqa_backward(lmmiqa_cnniqa *m, lmmiqa__cnniqa_work *w, int n);

#endif
