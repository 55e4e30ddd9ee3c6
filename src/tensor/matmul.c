/*
 * src/tensor/matmul.c - matrix products on oneDNN's matmul primitive (see
 * matmul.h) and the engine shared with nn/conv_dnnl.c (dnnl_util.h).
 *
 * Packed weights: the layout is the one oneDNN picks for weights "any" in a
 * product of n x k weights (probed once per (n, k) with m = 256, no
 * post-ops; the layout does not depend on m on the machines measured) and
 * then named explicitly in every plan of that shape, so one packing serves
 * every batch size. Where oneDNN offers no blocked layout the weights stay
 * plain [n, k] and the plans read them transposed.
 *
 * A plan is one primitive with its post-ops (bias as the primitive's bias
 * argument, then sum for accumulation or eltwise swish(1.702) / gelu_erf for
 * the activation), created with a user scratchpad, plus one set of memory
 * handles per slot so that threads can run it at once. The context keeps a
 * scratchpad per slot, grown to the largest plan when a plan is prepared.
 */
#include "tensor/matmul.h"

#include "core/internal.h"
#include "tensor/dnnl_util.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the engine */

static dnnl_engine_t g_engine;
static pthread_once_t g_engine_once = PTHREAD_ONCE_INIT;

static void engine_init(void)
{
    if (dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success)
        g_engine = NULL;
}

dnnl_engine_t lmmiqa__dnnl_engine(void)
{
    pthread_once(&g_engine_once, engine_init);
    return g_engine;
}

int lmmiqa__dnnl_fail(dnnl_status_t s, const char *what)
{
    return lmmiqa__fail(s == dnnl_out_of_memory ? LMMIQA_ERR_NOMEM : LMMIQA_ERR_INTERNAL,
                        "oneDNN: %s failed (status %d)", what, (int)s);
}

static int no_engine(void)
{
    return lmmiqa__fail(LMMIQA_ERR_INTERNAL, "oneDNN: no CPU engine");
}

/* ------------------------------------------------------- packed layouts */

/* The weights of C = A W^T seen as oneDNN's logical [k, n] matrix:
 * w[n, k] row-major is [k, n] with strides {1, k}. */
static dnnl_status_t plain_weights_md(dnnl_memory_desc_t *md, int n, int k)
{
    dnnl_dims_t dims = {k, n}, strides = {1, k};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, dnnl_f32, strides);
}

/* Probe the layout oneDNN prefers for [n, k] weights. */
static dnnl_status_t probe_layout(int n, int k, dnnl_memory_desc_t *out)
{
    dnnl_memory_desc_t a, w, c;
    dnnl_dims_t ad = {256, k}, wd = {k, n}, cd = {256, n};
    dnnl_status_t s;
    if ((s = dnnl_memory_desc_init_by_tag(&a, 2, ad, dnnl_f32, dnnl_ab)) ||
        (s = dnnl_memory_desc_init_by_tag(&w, 2, wd, dnnl_f32, dnnl_format_tag_any)) ||
        (s = dnnl_memory_desc_init_by_tag(&c, 2, cd, dnnl_f32, dnnl_ab)))
        return s;
    dnnl_matmul_desc_t d;
    if ((s = dnnl_matmul_desc_init(&d, &a, &w, NULL, &c)))
        return s;
    dnnl_primitive_desc_t pd;
    if ((s = dnnl_primitive_desc_create(&pd, &d, NULL, lmmiqa__dnnl_engine(), NULL)))
        return s;
    *out = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_primitive_desc_destroy(pd);
    return dnnl_success;
}

typedef struct layout {
    int n, k;
    dnnl_memory_desc_t md;
} layout;

#define MAX_LAYOUTS 64
static layout g_layouts[MAX_LAYOUTS];
static int g_nlayouts;
static pthread_mutex_t g_layouts_mu = PTHREAD_MUTEX_INITIALIZER;

/* The packed layout of [n, k] weights (cached; plain if oneDNN has none). */
static void packed_md(int n, int k, dnnl_memory_desc_t *md)
{
    pthread_mutex_lock(&g_layouts_mu);
    for (int i = 0; i < g_nlayouts; i++)
        if (g_layouts[i].n == n && g_layouts[i].k == k) {
            *md = g_layouts[i].md;
            pthread_mutex_unlock(&g_layouts_mu);
            return;
        }
    if (!lmmiqa__dnnl_engine() || probe_layout(n, k, md) != dnnl_success)
        plain_weights_md(md, n, k);
    if (g_nlayouts < MAX_LAYOUTS)
        g_layouts[g_nlayouts++] = (layout){n, k, *md};
    pthread_mutex_unlock(&g_layouts_mu);
}

size_t lmmiqa__mm_packed_floats(int n, int k)
{
    if (n < 1 || k < 1)
        return 0;
    dnnl_memory_desc_t md;
    packed_md(n, k, &md);
    size_t bytes = dnnl_memory_desc_get_size(&md);
    size_t plain = (size_t)n * (size_t)k;
    return bytes / sizeof(float) > plain ? bytes / sizeof(float) : plain;
}

int lmmiqa__mm_pack(int n, int k, const float *w, float *dst)
{
    assert(n > 0 && k > 0 && w && dst);
    dnnl_engine_t eng = lmmiqa__dnnl_engine();
    if (!eng)
        return no_engine();
    dnnl_memory_desc_t from, to;
    packed_md(n, k, &to);
    LMMIQA__DNNL_TRY(plain_weights_md(&from, n, k), "weights layout");
    if (dnnl_memory_desc_equal(&from, &to)) {
        memcpy(dst, w, sizeof(float) * (size_t)n * (size_t)k);
        return LMMIQA_OK;
    }
    dnnl_memory_t src = NULL, out = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t reorder = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_status_t s;
    if ((s = dnnl_memory_create(&src, &from, eng, (void *)w)) ||
        (s = dnnl_memory_create(&out, &to, eng, dst)) ||
        (s = dnnl_reorder_primitive_desc_create(&pd, &from, eng, &to, eng, NULL)) ||
        (s = dnnl_primitive_create(&reorder, pd)) ||
        (s = dnnl_stream_create(&stream, eng, dnnl_stream_default_flags)))
        goto done;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, out}};
    if ((s = dnnl_primitive_execute(reorder, stream, 2, args)) == dnnl_success)
        s = dnnl_stream_wait(stream);
done:
    dnnl_stream_destroy(stream);
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(out);
    dnnl_memory_destroy(src);
    return s == dnnl_success ? LMMIQA_OK : lmmiqa__dnnl_fail(s, "packing weights");
}

/* ------------------------------------------------------------- contexts */

enum { ARG_A, ARG_B, ARG_C, ARG_BIAS, N_ARGS };

struct lmmiqa__mm_plan {
    lmmiqa__mm_op op;
    dnnl_primitive_t prim;
    dnnl_memory_t *mem; /* [slots][N_ARGS] */
    lmmiqa__mm *owner;
    struct lmmiqa__mm_plan *next;
};

struct lmmiqa__mm {
    int slots;
    dnnl_stream_t *stream;      /* [slots] */
    size_t scratch_bytes;       /* of each slot */
    void **scratch;             /* [slots] */
    dnnl_memory_t *scratch_mem; /* [slots] */
    lmmiqa__mm_plan *plans;
};

int lmmiqa__mm_create(int slots, lmmiqa__mm **out)
{
    assert(slots >= 1 && out);
    *out = NULL;
    dnnl_engine_t eng = lmmiqa__dnnl_engine();
    if (!eng)
        return no_engine();
    lmmiqa__mm *mm = lmmiqa__calloc(1, sizeof *mm);
    if (!mm)
        return LMMIQA_ERR_NOMEM;
    mm->slots = slots;
    mm->stream = lmmiqa__calloc((size_t)slots, sizeof *mm->stream);
    mm->scratch = lmmiqa__calloc((size_t)slots, sizeof *mm->scratch);
    mm->scratch_mem = lmmiqa__calloc((size_t)slots, sizeof *mm->scratch_mem);
    if (!mm->stream || !mm->scratch || !mm->scratch_mem) {
        lmmiqa__mm_destroy(mm);
        return LMMIQA_ERR_NOMEM;
    }
    for (int i = 0; i < slots; i++) {
        dnnl_status_t s = dnnl_stream_create(&mm->stream[i], eng, dnnl_stream_default_flags);
        if (s != dnnl_success) {
            lmmiqa__mm_destroy(mm);
            return lmmiqa__dnnl_fail(s, "stream");
        }
    }
    *out = mm;
    return LMMIQA_OK;
}

static void plan_destroy(lmmiqa__mm_plan *p, int slots)
{
    if (p->mem)
        for (int i = 0; i < slots * N_ARGS; i++)
            dnnl_memory_destroy(p->mem[i]);
    free(p->mem);
    dnnl_primitive_destroy(p->prim);
    free(p);
}

void lmmiqa__mm_destroy(lmmiqa__mm *mm)
{
    if (!mm)
        return;
    while (mm->plans) {
        lmmiqa__mm_plan *next = mm->plans->next;
        plan_destroy(mm->plans, mm->slots);
        mm->plans = next;
    }
    for (int i = 0; i < mm->slots; i++) {
        if (mm->scratch_mem)
            dnnl_memory_destroy(mm->scratch_mem[i]);
        if (mm->scratch)
            free(mm->scratch[i]);
        if (mm->stream)
            dnnl_stream_destroy(mm->stream[i]);
    }
    free(mm->scratch_mem);
    free(mm->scratch);
    free(mm->stream);
    free(mm);
}

int lmmiqa__mm_slots(const lmmiqa__mm *mm)
{
    return mm->slots;
}

/* Grow every slot's scratchpad to at least `bytes`: the new buffers are
 * made first, so a failure leaves the old ones (and the plans using them)
 * as they were. */
static int scratch_reserve(lmmiqa__mm *mm, size_t bytes)
{
    if (bytes <= mm->scratch_bytes)
        return LMMIQA_OK;
    bytes = (bytes + 4095) & ~(size_t)4095;
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {(dnnl_dim_t)bytes};
    LMMIQA__DNNL_TRY(dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_u8, dnnl_a),
                     "scratchpad layout");
    void **buf = lmmiqa__calloc((size_t)mm->slots, sizeof *buf);
    dnnl_memory_t *mem = lmmiqa__calloc((size_t)mm->slots, sizeof *mem);
    int rc = buf && mem ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
    for (int i = 0; rc == LMMIQA_OK && i < mm->slots; i++) {
        if (!(buf[i] = lmmiqa__aligned_alloc(64, bytes)))
            rc = LMMIQA_ERR_NOMEM;
        else if (dnnl_memory_create(&mem[i], &md, lmmiqa__dnnl_engine(), buf[i]) != dnnl_success)
            rc = lmmiqa__fail(LMMIQA_ERR_NOMEM, "oneDNN: scratchpad of %zu bytes", bytes);
    }
    for (int i = 0; i < mm->slots && buf && mem; i++) {
        if (rc == LMMIQA_OK) { /* swap: mem/buf then hold the old ones */
            void *b = mm->scratch[i];
            dnnl_memory_t m = mm->scratch_mem[i];
            mm->scratch[i] = buf[i], mm->scratch_mem[i] = mem[i];
            buf[i] = b, mem[i] = m;
        }
        dnnl_memory_destroy(mem[i]);
        free(buf[i]);
    }
    free(buf);
    free(mem);
    if (rc == LMMIQA_OK)
        mm->scratch_bytes = bytes;
    return rc;
}

/* The memory descriptors of op: a, b, c, bias. */
static dnnl_status_t op_mds(const lmmiqa__mm_op *op, dnnl_memory_desc_t md[N_ARGS])
{
    dnnl_dims_t ad = {op->m, op->k}, as = {op->lda, 1};
    dnnl_dims_t cd = {op->m, op->n}, cs = {op->ldc, 1};
    dnnl_dims_t bd = {op->k, op->n}, bias = {1, op->n};
    dnnl_status_t s;
    if ((s = dnnl_memory_desc_init_by_strides(&md[ARG_A], 2, ad, dnnl_f32, as)) ||
        (s = dnnl_memory_desc_init_by_strides(&md[ARG_C], 2, cd, dnnl_f32, cs)) ||
        (s = dnnl_memory_desc_init_by_tag(&md[ARG_BIAS], 2, bias, dnnl_f32, dnnl_ab)))
        return s;
    if (op->b == LMMIQA__MM_B_PACKED) {
        packed_md(op->n, op->k, &md[ARG_B]);
        return dnnl_success;
    }
    dnnl_dims_t bs_nt = {1, op->ldb}, bs_nn = {op->ldb, 1};
    return dnnl_memory_desc_init_by_strides(&md[ARG_B], 2, bd, dnnl_f32,
                                            op->b == LMMIQA__MM_B_NT ? bs_nt : bs_nn);
}

static dnnl_status_t op_attr(const lmmiqa__mm_op *op, dnnl_primitive_attr_t *attr)
{
    dnnl_status_t s;
    dnnl_post_ops_t po = NULL;
    if ((s = dnnl_primitive_attr_create(attr)) ||
        (s = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user)) ||
        (s = dnnl_post_ops_create(&po)))
        return s;
    if (op->alpha != 1.0f)
        s = dnnl_primitive_attr_set_output_scales(*attr, 1, 0, &op->alpha);
    if (s == dnnl_success && op->accumulate)
        s = dnnl_post_ops_append_sum(po, 1.0f);
    if (s == dnnl_success && op->act == LMMIQA__MM_QUICK_GELU)
        s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_swish, 1.702f, 0.0f);
    else if (s == dnnl_success && op->act == LMMIQA__MM_GELU)
        s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_gelu_erf, 0.0f, 0.0f);
    if (s == dnnl_success)
        s = dnnl_primitive_attr_set_post_ops(*attr, po);
    dnnl_post_ops_destroy(po);
    return s;
}

static int plan_create(lmmiqa__mm *mm, const lmmiqa__mm_op *op, lmmiqa__mm_plan **out)
{
    dnnl_engine_t eng = lmmiqa__dnnl_engine();
    dnnl_memory_desc_t md[N_ARGS];
    LMMIQA__DNNL_TRY(op_mds(op, md), "matmul layouts");
    dnnl_matmul_desc_t desc;
    LMMIQA__DNNL_TRY(dnnl_matmul_desc_init(&desc, &md[ARG_A], &md[ARG_B],
                                           op->bias ? &md[ARG_BIAS] : NULL, &md[ARG_C]),
                     "matmul descriptor");
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = op_attr(op, &attr);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(&pd, &desc, attr, eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return lmmiqa__dnnl_fail(s, "matmul primitive descriptor");
    size_t scratch =
        dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
    lmmiqa__mm_plan *p = lmmiqa__calloc(1, sizeof *p);
    if (!p) {
        dnnl_primitive_desc_destroy(pd);
        return LMMIQA_ERR_NOMEM;
    }
    p->op = *op;
    p->owner = mm;
    s = dnnl_primitive_create(&p->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    int rc = s == dnnl_success ? LMMIQA_OK : lmmiqa__dnnl_fail(s, "matmul primitive");
    if (rc == LMMIQA_OK) {
        p->mem = lmmiqa__calloc((size_t)mm->slots * N_ARGS, sizeof *p->mem);
        rc = p->mem ? LMMIQA_OK : LMMIQA_ERR_NOMEM;
    }
    for (int i = 0; rc == LMMIQA_OK && i < mm->slots * N_ARGS; i++) {
        s = dnnl_memory_create(&p->mem[i], &md[i % N_ARGS], eng, DNNL_MEMORY_NONE);
        if (s != dnnl_success)
            rc = lmmiqa__dnnl_fail(s, "matmul memory");
    }
    if (rc == LMMIQA_OK)
        rc = scratch_reserve(mm, scratch);
    if (rc != LMMIQA_OK) {
        plan_destroy(p, mm->slots);
        return rc;
    }
    p->next = mm->plans;
    mm->plans = p;
    *out = p;
    return LMMIQA_OK;
}

int lmmiqa__mm_prepare(lmmiqa__mm *mm, const lmmiqa__mm_op *op, lmmiqa__mm_plan **out)
{
    assert(mm && op && out && op->m > 0 && op->n > 0 && op->k > 0);
    assert(op->alpha == 1.0f || !op->bias);
    for (lmmiqa__mm_plan *p = mm->plans; p; p = p->next)
        if (memcmp(&p->op, op, sizeof *op) == 0) {
            *out = p;
            return LMMIQA_OK;
        }
    return plan_create(mm, op, out);
}

int lmmiqa__mm_run(lmmiqa__mm_plan *plan, int slot, const float *a, const float *b,
                   const float *bias, float *c)
{
    assert(plan && a && b && c && (bias || !plan->op.bias));
    lmmiqa__mm *mm = plan->owner;
    assert(slot >= 0 && slot < mm->slots);
    dnnl_memory_t *mem = plan->mem + (size_t)slot * N_ARGS;
    /* oneDNN only reads a, b and bias */
    LMMIQA__DNNL_TRY(dnnl_memory_set_data_handle(mem[ARG_A], (void *)a), "matmul input");
    LMMIQA__DNNL_TRY(dnnl_memory_set_data_handle(mem[ARG_B], (void *)b), "matmul weights");
    LMMIQA__DNNL_TRY(dnnl_memory_set_data_handle(mem[ARG_C], c), "matmul output");
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, mem[ARG_A]},
                               {DNNL_ARG_WEIGHTS, mem[ARG_B]},
                               {DNNL_ARG_DST, mem[ARG_C]}};
    int nargs = 3;
    if (mm->scratch_mem[slot])
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, mm->scratch_mem[slot]};
    if (plan->op.bias) {
        LMMIQA__DNNL_TRY(dnnl_memory_set_data_handle(mem[ARG_BIAS], (void *)bias), "matmul bias");
        args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, mem[ARG_BIAS]};
    }
    LMMIQA__DNNL_TRY(dnnl_primitive_execute(plan->prim, mm->stream[slot], nargs, args), "matmul");
    LMMIQA__DNNL_TRY(dnnl_stream_wait(mm->stream[slot]), "matmul");
    return LMMIQA_OK;
}

int lmmiqa__mm_linear(lmmiqa__mm *mm, int m, int n, int k, const float *x, lmmiqa__mm_w w,
                      const float *bias, int act, int accumulate, float *y, int ldy)
{
    int ldb = w.layout == LMMIQA__MM_B_NN ? n : w.layout == LMMIQA__MM_B_NT ? k : 0;
    lmmiqa__mm_op op = {m, n, k, k, ldb, ldy, w.layout, bias != NULL, act, accumulate, 1.0f};
    lmmiqa__mm_plan *plan;
    int rc = lmmiqa__mm_prepare(mm, &op, &plan);
    return rc != LMMIQA_OK ? rc : lmmiqa__mm_run(plan, 0, x, w.w, bias, y);
}

/* ------------------------------------------------------------ reference */

static double act_ref(double x, int act)
{
    if (act == LMMIQA__MM_QUICK_GELU)
        return x / (1.0 + exp(-1.702 * x));
    if (act == LMMIQA__MM_GELU)
        return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    return x;
}

void lmmiqa__mm_run_ref(const lmmiqa__mm_op *op, const float *a, const float *b, const float *bias,
                        float *c)
{
    for (int i = 0; i < op->m; i++)
        for (int j = 0; j < op->n; j++) {
            double s = 0.0;
            for (int p = 0; p < op->k; p++) {
                double y = op->b == LMMIQA__MM_B_PACKED ? b[(size_t)j * op->k + p]
                           : op->b == LMMIQA__MM_B_NT   ? b[(size_t)j * op->ldb + p]
                                                        : b[(size_t)p * op->ldb + j];
                s += (double)a[(size_t)i * op->lda + p] * y;
            }
            s = s * op->alpha + (op->bias ? bias[j] : 0.0);
            float *cc = &c[(size_t)i * op->ldc + j];
            s = act_ref(s, op->act);
            *cc = (float)(op->accumulate ? s + *cc : s);
        }
}
