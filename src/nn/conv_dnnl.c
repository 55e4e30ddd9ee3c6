/*
 * src/nn/conv_dnnl.c - convolution plans on oneDNN (the library PyTorch's
 * CPU convolutions use): for a fixed (descriptor, batch, height, width) a
 * plan holds oneDNN forward, backward-data and backward-weights primitives
 * on the layouts oneDNN prefers (blocked, e.g. nChw8c) plus the reorders
 * from and to our plain NCHW / OIHW buffers. The engine's buffers stay
 * NCHW; the reorders are the price of that, as in PyTorch's own path.
 *
 * Backward weights: oneDNN overwrites its diff buffers, so the plan
 * reorders them to a plain scratch block and adds it to the caller's
 * accumulating gradient. One plan must not run on two threads at once.
 */
#include "nn/nn.h"

#include "core/internal.h"
#include "tensor/dnnl_util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* A tensor seen by a primitive: the caller's plain buffer, and the
 * primitive's layout (the same memory when the layouts agree). */
typedef struct port {
    dnnl_memory_t user, inner;
    dnnl_primitive_t reorder; /* user -> inner (input) or inner -> user (output), or NULL */
} port;

struct lmmiqa_nn_conv2d_plan {
    lmmiqa_nn_conv2d c;
    int n, h, w, oh, ow, has_bias;
    dnnl_stream_t stream;
    dnnl_primitive_t fwd, bwd_data, bwd_w;
    port f_src, f_w, f_dst, f_bias;
    port d_ddst, d_w, d_dsrc;
    port w_src, w_ddst, w_dw, w_dbias;
    float *dw_tmp, *db_tmp;
};

/* Make a port for `user_md` (plain) as the primitive wants `want`. */
static int port_make(port *p, const dnnl_memory_desc_t *user_md, const dnnl_memory_desc_t *want,
                     int input)
{
    LMMIQA__DNNL_TRY(dnnl_memory_create(&p->user, user_md, lmmiqa__dnnl_engine(), DNNL_MEMORY_NONE),
                     "memory");
    if (dnnl_memory_desc_equal(user_md, want)) {
        p->inner = NULL;
        return LMMIQA_OK;
    }
    LMMIQA__DNNL_TRY(
        dnnl_memory_create(&p->inner, want, lmmiqa__dnnl_engine(), DNNL_MEMORY_ALLOCATE), "memory");
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_status_t s =
        input ? dnnl_reorder_primitive_desc_create(&rpd, user_md, lmmiqa__dnnl_engine(), want,
                                                   lmmiqa__dnnl_engine(), NULL)
              : dnnl_reorder_primitive_desc_create(&rpd, want, lmmiqa__dnnl_engine(), user_md,
                                                   lmmiqa__dnnl_engine(), NULL);
    if (s == dnnl_success)
        s = dnnl_primitive_create(&p->reorder, rpd);
    dnnl_primitive_desc_destroy(rpd);
    LMMIQA__DNNL_TRY(s, "reorder");
    return LMMIQA_OK;
}

static void port_free(port *p)
{
    if (p->reorder)
        dnnl_primitive_destroy(p->reorder);
    if (p->inner)
        dnnl_memory_destroy(p->inner);
    if (p->user)
        dnnl_memory_destroy(p->user);
    memset(p, 0, sizeof *p);
}

static dnnl_memory_t port_mem(const port *p)
{
    return p->inner ? p->inner : p->user;
}

/* Bind the caller's buffer; for an input, reorder it into the inner layout. */
static int port_in(dnnl_stream_t st, port *p, const void *data)
{
    LMMIQA__DNNL_TRY(dnnl_memory_set_data_handle(p->user, (void *)data), "set handle");
    if (p->reorder) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->user}, {DNNL_ARG_TO, p->inner}};
        LMMIQA__DNNL_TRY(dnnl_primitive_execute(p->reorder, st, 2, a), "reorder");
    }
    return LMMIQA_OK;
}

static int port_out(dnnl_stream_t st, port *p)
{
    if (p->reorder) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->inner}, {DNNL_ARG_TO, p->user}};
        LMMIQA__DNNL_TRY(dnnl_primitive_execute(p->reorder, st, 2, a), "reorder");
    }
    return LMMIQA_OK;
}

static int make_pd(dnnl_primitive_desc_t *pd, const void *desc, const_dnnl_primitive_desc_t hint,
                   const char *what)
{
    LMMIQA__DNNL_TRY(dnnl_primitive_desc_create(pd, desc, NULL, lmmiqa__dnnl_engine(), hint), what);
    return LMMIQA_OK;
}

static const dnnl_memory_desc_t *q(const_dnnl_primitive_desc_t pd, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

static int plan_build(lmmiqa_nn_conv2d_plan *p)
{
    const lmmiqa_nn_conv2d *c = &p->c;
    int g = c->groups;
    dnnl_dims_t src = {p->n, c->in_ch, p->h, p->w}, dst = {p->n, c->out_ch, p->oh, p->ow};
    dnnl_dims_t wt = {c->out_ch, c->in_ch / g, c->kh, c->kw};
    dnnl_dims_t wtg = {g, c->out_ch / g, c->in_ch / g, c->kh, c->kw};
    dnnl_dims_t bias = {c->out_ch};
    dnnl_dims_t strides = {c->stride_h, c->stride_w}, pad = {c->pad_h, c->pad_w};
    dnnl_memory_desc_t src_u, dst_u, w_u, b_u, src_a, dst_a, w_a;
    LMMIQA__DNNL_TRY(dnnl_memory_desc_init_by_tag(&src_u, 4, src, dnnl_f32, dnnl_nchw), "desc");
    LMMIQA__DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst_u, 4, dst, dnnl_f32, dnnl_nchw), "desc");
    if (g == 1)
        LMMIQA__DNNL_TRY(dnnl_memory_desc_init_by_tag(&w_u, 4, wt, dnnl_f32, dnnl_oihw), "desc");
    else
        LMMIQA__DNNL_TRY(dnnl_memory_desc_init_by_tag(&w_u, 5, wtg, dnnl_f32, dnnl_goihw), "desc");
    LMMIQA__DNNL_TRY(dnnl_memory_desc_init_by_tag(&b_u, 1, bias, dnnl_f32, dnnl_a), "desc");
    LMMIQA__DNNL_TRY(dnnl_memory_desc_init_by_tag(&src_a, 4, src, dnnl_f32, dnnl_format_tag_any),
                     "desc");
    LMMIQA__DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst_a, 4, dst, dnnl_f32, dnnl_format_tag_any),
                     "desc");
    if (g == 1)
        LMMIQA__DNNL_TRY(dnnl_memory_desc_init_by_tag(&w_a, 4, wt, dnnl_f32, dnnl_format_tag_any),
                         "desc");
    else
        LMMIQA__DNNL_TRY(dnnl_memory_desc_init_by_tag(&w_a, 5, wtg, dnnl_f32, dnnl_format_tag_any),
                         "desc");
    dnnl_convolution_desc_t fd, dd, wd;
    LMMIQA__DNNL_TRY(dnnl_convolution_forward_desc_init(
                         &fd, dnnl_forward_training, dnnl_convolution_direct, &src_a, &w_a,
                         p->has_bias ? &b_u : NULL, &dst_a, strides, pad, pad),
                     "forward descriptor");
    LMMIQA__DNNL_TRY(dnnl_convolution_backward_data_desc_init(&dd, dnnl_convolution_direct, &src_a,
                                                              &w_a, &dst_a, strides, pad, pad),
                     "backward-data descriptor");
    LMMIQA__DNNL_TRY(dnnl_convolution_backward_weights_desc_init(
                         &wd, dnnl_convolution_direct, &src_a, &w_a, p->has_bias ? &b_u : NULL,
                         &dst_a, strides, pad, pad),
                     "backward-weights descriptor");
    dnnl_primitive_desc_t fpd = NULL, dpd = NULL, wpd = NULL;
    int rc = make_pd(&fpd, &fd, NULL, "forward");
    if (rc == LMMIQA_OK)
        rc = make_pd(&dpd, &dd, fpd, "backward data");
    if (rc == LMMIQA_OK)
        rc = make_pd(&wpd, &wd, fpd, "backward weights");
    if (rc == LMMIQA_OK)
        rc = port_make(&p->f_src, &src_u, q(fpd, dnnl_query_src_md), 1);
    if (rc == LMMIQA_OK)
        rc = port_make(&p->f_w, &w_u, q(fpd, dnnl_query_weights_md), 1);
    if (rc == LMMIQA_OK)
        rc = port_make(&p->f_dst, &dst_u, q(fpd, dnnl_query_dst_md), 0);
    if (rc == LMMIQA_OK && p->has_bias)
        rc = port_make(&p->f_bias, &b_u, &b_u, 1);
    if (rc == LMMIQA_OK)
        rc = port_make(&p->d_ddst, &dst_u, q(dpd, dnnl_query_diff_dst_md), 1);
    if (rc == LMMIQA_OK)
        rc = port_make(&p->d_w, &w_u, q(dpd, dnnl_query_weights_md), 1);
    if (rc == LMMIQA_OK)
        rc = port_make(&p->d_dsrc, &src_u, q(dpd, dnnl_query_diff_src_md), 0);
    if (rc == LMMIQA_OK)
        rc = port_make(&p->w_src, &src_u, q(wpd, dnnl_query_src_md), 1);
    if (rc == LMMIQA_OK)
        rc = port_make(&p->w_ddst, &dst_u, q(wpd, dnnl_query_diff_dst_md), 1);
    if (rc == LMMIQA_OK)
        rc = port_make(&p->w_dw, &w_u, q(wpd, dnnl_query_diff_weights_md), 0);
    if (rc == LMMIQA_OK && p->has_bias)
        rc = port_make(&p->w_dbias, &b_u, &b_u, 0);
    dnnl_status_t s = dnnl_success;
    if (rc == LMMIQA_OK && (s = dnnl_primitive_create(&p->fwd, fpd)) == dnnl_success &&
        (s = dnnl_primitive_create(&p->bwd_data, dpd)) == dnnl_success)
        s = dnnl_primitive_create(&p->bwd_w, wpd);
    if (rc == LMMIQA_OK && s != dnnl_success)
        rc = lmmiqa__dnnl_fail(s, "primitive");
    dnnl_primitive_desc_destroy(fpd);
    dnnl_primitive_desc_destroy(dpd);
    dnnl_primitive_desc_destroy(wpd);
    return rc;
}

int lmmiqa_nn_conv2d_plan_create(const lmmiqa_nn_conv2d *c, int n, int h, int w, int has_bias,
                                 lmmiqa_nn_conv2d_plan **out)
{
    *out = NULL;
    if (!lmmiqa__dnnl_engine())
        return lmmiqa__fail(LMMIQA_ERR_INTERNAL, "oneDNN: no CPU engine");
    lmmiqa_nn_conv2d_plan *p = lmmiqa__calloc(1, sizeof *p);
    if (!p)
        return LMMIQA_ERR_NOMEM;
    p->c = *c;
    p->n = n, p->h = h, p->w = w, p->has_bias = has_bias;
    p->oh = lmmiqa_nn_conv2d_out_h(c, h);
    p->ow = lmmiqa_nn_conv2d_out_w(c, w);
    size_t nw = (size_t)c->out_ch * (c->in_ch / c->groups) * c->kh * c->kw;
    p->dw_tmp = lmmiqa__malloc(nw * sizeof(float));
    p->db_tmp = lmmiqa__malloc((size_t)c->out_ch * sizeof(float));
    int rc = (p->dw_tmp && p->db_tmp) ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
    if (rc == LMMIQA_OK && dnnl_stream_create(&p->stream, lmmiqa__dnnl_engine(),
                                              dnnl_stream_default_flags) != dnnl_success)
        rc = lmmiqa__fail(LMMIQA_ERR_INTERNAL, "oneDNN: cannot create a stream");
    if (rc == LMMIQA_OK)
        rc = plan_build(p);
    if (rc != LMMIQA_OK) {
        lmmiqa_nn_conv2d_plan_destroy(p);
        return rc;
    }
    *out = p;
    return LMMIQA_OK;
}

void lmmiqa_nn_conv2d_plan_destroy(lmmiqa_nn_conv2d_plan *p)
{
    if (!p)
        return;
    port *ports[] = {&p->f_src,  &p->f_w,   &p->f_dst,  &p->f_bias, &p->d_ddst, &p->d_w,
                     &p->d_dsrc, &p->w_src, &p->w_ddst, &p->w_dw,   &p->w_dbias};
    for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++)
        port_free(ports[i]);
    if (p->fwd)
        dnnl_primitive_destroy(p->fwd);
    if (p->bwd_data)
        dnnl_primitive_destroy(p->bwd_data);
    if (p->bwd_w)
        dnnl_primitive_destroy(p->bwd_w);
    if (p->stream)
        dnnl_stream_destroy(p->stream);
    free(p->dw_tmp);
    free(p->db_tmp);
    free(p);
}

int lmmiqa_nn_conv2d_plan_forward(lmmiqa_nn_conv2d_plan *p, const float *x, const float *weight,
                                  const float *bias, float *y)
{
    assert(!p->has_bias == !bias);
    int rc = port_in(p->stream, &p->f_src, x);
    if (rc == LMMIQA_OK)
        rc = port_in(p->stream, &p->f_w, weight);
    if (rc == LMMIQA_OK && p->has_bias)
        rc = port_in(p->stream, &p->f_bias, bias);
    if (rc == LMMIQA_OK)
        LMMIQA__DNNL_TRY(dnnl_memory_set_data_handle(p->f_dst.user, y), "set handle");
    if (rc != LMMIQA_OK)
        return rc;
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, port_mem(&p->f_src)},
                            {DNNL_ARG_WEIGHTS, port_mem(&p->f_w)},
                            {DNNL_ARG_DST, port_mem(&p->f_dst)},
                            {DNNL_ARG_BIAS, p->has_bias ? port_mem(&p->f_bias) : NULL}};
    LMMIQA__DNNL_TRY(dnnl_primitive_execute(p->fwd, p->stream, p->has_bias ? 4 : 3, a), "forward");
    rc = port_out(p->stream, &p->f_dst);
    if (rc == LMMIQA_OK)
        LMMIQA__DNNL_TRY(dnnl_stream_wait(p->stream), "wait");
    return rc;
}

int lmmiqa_nn_conv2d_plan_backward(lmmiqa_nn_conv2d_plan *p, const float *x, const float *weight,
                                   const float *dy, float *dx, float *dweight, float *dbias)
{
    int rc = LMMIQA_OK;
    if (dx) {
        rc = port_in(p->stream, &p->d_ddst, dy);
        if (rc == LMMIQA_OK)
            rc = port_in(p->stream, &p->d_w, weight);
        if (rc != LMMIQA_OK)
            return rc;
        LMMIQA__DNNL_TRY(dnnl_memory_set_data_handle(p->d_dsrc.user, dx), "set handle");
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, port_mem(&p->d_ddst)},
                                {DNNL_ARG_WEIGHTS, port_mem(&p->d_w)},
                                {DNNL_ARG_DIFF_SRC, port_mem(&p->d_dsrc)}};
        LMMIQA__DNNL_TRY(dnnl_primitive_execute(p->bwd_data, p->stream, 3, a), "backward data");
        rc = port_out(p->stream, &p->d_dsrc);
        if (rc != LMMIQA_OK)
            return rc;
    }
    if (dweight || dbias) {
        rc = port_in(p->stream, &p->w_src, x);
        if (rc == LMMIQA_OK)
            rc = port_in(p->stream, &p->w_ddst, dy);
        if (rc != LMMIQA_OK)
            return rc;
        LMMIQA__DNNL_TRY(dnnl_memory_set_data_handle(p->w_dw.user, p->dw_tmp), "set handle");
        if (p->has_bias)
            LMMIQA__DNNL_TRY(dnnl_memory_set_data_handle(p->w_dbias.user, p->db_tmp), "set handle");
        dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, port_mem(&p->w_src)},
                                {DNNL_ARG_DIFF_DST, port_mem(&p->w_ddst)},
                                {DNNL_ARG_DIFF_WEIGHTS, port_mem(&p->w_dw)},
                                {DNNL_ARG_DIFF_BIAS, p->has_bias ? port_mem(&p->w_dbias) : NULL}};
        LMMIQA__DNNL_TRY(dnnl_primitive_execute(p->bwd_w, p->stream, p->has_bias ? 4 : 3, a),
                         "backward weights");
        rc = port_out(p->stream, &p->w_dw);
        if (rc != LMMIQA_OK)
            return rc;
    }
    LMMIQA__DNNL_TRY(dnnl_stream_wait(p->stream), "wait");
    if (dweight) {
        size_t nw = (size_t)p->c.out_ch * (p->c.in_ch / p->c.groups) * p->c.kh * p->c.kw;
        for (size_t i = 0; i < nw; i++)
            dweight[i] += p->dw_tmp[i];
    }
    if (dbias && p->has_bias)
        for (int i = 0; i < p->c.out_ch; i++)
            dbias[i] += p->db_tmp[i];
    return LMMIQA_OK;
}
