/*
 * tests/test_nn_torch.c - whole networks of the training engine against
 * PyTorch 1.13: forward output, loss, every parameter gradient, batch-norm
 * running statistics after the step, and the output after one Adam step.
 *
 * Golden files tests/data/nn/<model>_torch.txt come from tools/ref/nn_ref.py,
 * which initialises weights and inputs with the integer formula below, so
 * only summaries are stored (per tensor: sum, sum of |x|, max |x| and 8
 * sampled entries). Tolerances (float32 on both sides, different summation
 * orders): outputs 1e-4 relative (floor 1e-3), the loss 1e-3 (a small
 * difference of close values amplifies the outputs' error); gradient and buffer
 * entries within 2e-3 x max|tensor| and sums within 1e-3 x sum|x| + 1e-5
 * (the floor covers the biases that feed a training-mode batch norm, whose
 * exact gradient is 0 and whose computed one is rounding noise on both
 * sides: net.fc1.bias, net.fc2.bias and resnet_layer.fc.bias (its batch sum
 * feeds net.bn1). They are also left out of the Adam step on both sides,
 * which would turn the noise into +-lr steps of random sign.)
 */
#include "nn/nn.h"
#include "lmmiqa/advanced/metaiqa.h"
#include "models/cnniqa_internal.h"
#include "models/metaiqa_internal.h"

#include "test.h"

#include <ctype.h>

/* ------------------------------------------------------------ golden file */
#define MAX_ITEMS 256

typedef struct item {
    char tag[32], name[128];
    size_t n;
    double sum, abssum, maxabs, v[8];
    double *vals; /* "out", "loss", ... */
} item;

typedef struct golden {
    item items[MAX_ITEMS];
    int count;
    char order[MAX_ITEMS][128]; /* state_dict order */
    int n_order;
} golden;

static golden *golden_load(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/nn/%s", LMMIQA_SOURCE_DIR, rel);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    golden *g = calloc(1, sizeof *g);
    char tag[32];
    while (fscanf(f, "%31s", tag) == 1) {
        if (tag[0] == '#') {
            int c;
            while ((c = fgetc(f)) != '\n' && c != EOF)
                ;
            continue;
        }
        if (strcmp(tag, "tensor") == 0) {
            int t;
            if (fscanf(f, "%d %127s", &t, g->order[g->n_order]) == 2 && t == g->n_order)
                g->n_order++;
            continue;
        }
        item *it = &g->items[g->count++];
        snprintf(it->tag, sizeof it->tag, "%s", tag);
        if (strcmp(tag, "grad") == 0 || strcmp(tag, "buffer") == 0) {
            if (fscanf(f, "%127s %zu %lf %lf %lf", it->name, &it->n, &it->sum, &it->abssum,
                       &it->maxabs) != 5)
                break;
            for (int j = 0; j < 8; j++)
                if (fscanf(f, "%lf", &it->v[j]) != 1)
                    break;
        } else {
            if (fscanf(f, "%zu", &it->n) != 1)
                break;
            it->vals = calloc(it->n, sizeof(double));
            for (size_t j = 0; j < it->n; j++)
                if (fscanf(f, "%lf", &it->vals[j]) != 1)
                    break;
        }
    }
    fclose(f);
    return g;
}

static void golden_free(golden *g)
{
    for (int i = 0; g && i < g->count; i++)
        free(g->items[i].vals);
    free(g);
}

static const item *golden_find(const golden *g, const char *tag, const char *name)
{
    for (int i = 0; i < g->count; i++)
        if (strcmp(g->items[i].tag, tag) == 0 && (!name || strcmp(g->items[i].name, name) == 0))
            return &g->items[i];
    return NULL;
}

/* ------------------------------------------------------ formula weights */
static float formula(int t, size_t i)
{
    long long v = ((long long)i * 7919 + (long long)t * 104729) % 2003;
    return (float)((double)v / 1001.0 - 1.0);
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Same rules as init_tensor() in tools/ref/nn_ref.py. */
static void init_by_formula(lmmiqa_nn_params *p, const golden *g)
{
    for (size_t k = 0; k < p->count; k++) {
        const lmmiqa_nn_tensor *ten = &p->tensors[k];
        int t = -1;
        for (int j = 0; j < g->n_order; j++)
            if (strcmp(g->order[j], ten->name) == 0)
                t = j;
        CHECK_MSG(t >= 0, "tensor %s not in the golden file's state_dict", ten->name);
        if (t < 0)
            continue;
        float *d = lmmiqa_nn_params_data(p, (int)k);
        const char *nm = ten->name;
        int is_bn = strstr(nm, ".bn") || strncmp(nm, "bn", 2) == 0 || strstr(nm, "downsample.1");
        size_t fan_in = ten->numel / (size_t)(ten->shape[0] ? ten->shape[0] : 1);
        for (size_t i = 0; i < ten->numel; i++) {
            float v = formula(t, i);
            if (ends_with(nm, "running_mean"))
                v = 0.0f;
            else if (ends_with(nm, "running_var"))
                v = 1.0f;
            else if (is_bn)
                v = ends_with(nm, "weight") ? 1.0f + 0.1f * v : 0.1f * v;
            else if (strstr(nm, "relu"))
                v = 0.25f + 0.05f * v;
            else if (ends_with(nm, "bias"))
                v = 0.1f * v;
            else
                v = (float)(v / sqrt((double)fan_in));
            d[i] = v;
        }
    }
}

/* ------------------------------------------------------------ comparison */
static void compare_values_tol(const golden *g, const char *tag, const float *x, size_t n,
                               double rtol)
{
    const item *it = golden_find(g, tag, NULL);
    CHECK_MSG(it && it->n == n, "golden %s missing or of another size", tag);
    if (!it || it->n != n)
        return;
    for (size_t i = 0; i < n; i++)
        CHECK_REL(x[i], it->vals[i], rtol, 1e-3);
}

static void compare_values(const golden *g, const char *tag, const float *x, size_t n)
{
    compare_values_tol(g, tag, x, n, 1e-4);
}

static void compare_summary(const char *what, const item *it, const float *x, size_t n)
{
    CHECK_MSG(it->n == n, "%s %s: %zu elements, golden %zu", what, it->name, n, it->n);
    if (it->n != n)
        return;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    double tol_sum = 1e-3 * it->abssum + 1e-5, tol_v = 2e-3 * it->maxabs + 1e-7;
    CHECK_MSG(fabs(sum - it->sum) <= tol_sum, "%s %s: sum %.9g, torch %.9g", what, it->name, sum,
              it->sum);
    for (int j = 0; j < 8; j++) {
        size_t i = ((size_t)j * (n - 1)) / 7;
        CHECK_MSG(fabs(x[i] - it->v[j]) <= tol_v, "%s %s[%zu]: %.9g, torch %.9g", what, it->name,
                  i, (double)x[i], it->v[j]);
    }
}

static void compare_params(const golden *g, const lmmiqa_nn_params *p, const char *tag)
{
    int buffers = strcmp(tag, "buffer") == 0;
    for (size_t k = 0; k < p->count; k++) {
        const lmmiqa_nn_tensor *ten = &p->tensors[k];
        if ((ten->kind == LMMIQA_NN_BUFFER) != buffers)
            continue;
        const item *it = golden_find(g, tag, ten->name);
        CHECK_MSG(it != NULL, "no golden %s for %s", tag, ten->name);
        if (it)
            compare_summary(tag, it,
                            buffers ? lmmiqa_nn_params_data(p, (int)k)
                                    : lmmiqa_nn_params_grad(p, (int)k),
                            ten->numel);
    }
}

/* ----------------------------------------------------------------- CNNIQA */
static void test_cnniqa(void)
{
    golden *g = golden_load("cnniqa_torch.txt");
    CHECK(g != NULL);
    if (!g)
        return;
    lmmiqa_cnniqa_config cfg;
    lmmiqa_cnniqa_config_init(&cfg);
    cfg.dropout = 0.0f;
    lmmiqa_cnniqa *m = NULL;
    CHECK_OK(lmmiqa_cnniqa_create(&cfg, &m));
    init_by_formula(&m->params, g);
    lmmiqa__cnniqa_work w;
    CHECK_OK(lmmiqa__cnniqa_work_init(m, 4, &w));
    for (size_t i = 0; i < 4 * 32 * 32; i++)
        w.x[i] = formula(100, i) * 2.0f;
    float target[4];
    for (int i = 0; i < 4; i++)
        target[i] = (formula(101, (size_t)i) + 1.0f) / 2.0f;
    lmmiqa__cnniqa_forward(m, &w, 4, 1, NULL);
    compare_values(g, "out", w.out, 4);
    float loss = (float)lmmiqa_nn_l1_loss(4, w.out, target, w.dout);
    compare_values_tol(g, "loss", &loss, 1, 1e-3);
    lmmiqa_nn_params_zero_grad(&m->params);
    lmmiqa__cnniqa_backward(m, &w, 4);
    compare_params(g, &m->params, "grad");
    lmmiqa_nn_optim o;
    lmmiqa_nn_optim_defaults(&o, LMMIQA_NN_ADAM, 1e-3);
    CHECK_OK(lmmiqa_nn_optim_init(&o, &m->params));
    lmmiqa_nn_optim_step(&o, &m->params, 0, NULL);
    lmmiqa__cnniqa_forward(m, &w, 4, 0, NULL);
    compare_values(g, "out_eval_after_step", w.out, 4);
    lmmiqa__cnniqa_work_free(&w);
    lmmiqa_cnniqa_destroy(m);
    golden_free(g);
}

/* ---------------------------------------------------------------- MetaIQA */
static void test_metaiqa(void)
{
    golden *g = golden_load("metaiqa_w8_torch.txt");
    CHECK(g != NULL);
    if (!g)
        return;
    lmmiqa_metaiqa_config cfg;
    lmmiqa_metaiqa_config_init(&cfg);
    cfg.width = 8;
    cfg.dropout = 0.0f;
    lmmiqa_metaiqa *m = NULL;
    CHECK_OK(lmmiqa_metaiqa_create(&cfg, &m));
    init_by_formula(&m->params, g);
    lmmiqa__metaiqa_work *w = NULL;
    CHECK_OK(lmmiqa__metaiqa_work_create(m, 3, 64, 64, &w));
    float *x = lmmiqa__metaiqa_work_input(w);
    for (size_t i = 0; i < 3 * 3 * 64 * 64; i++)
        x[i] = formula(200, i);
    float target[3], dout[3];
    for (int i = 0; i < 3; i++)
        target[i] = (formula(201, (size_t)i) + 1.0f) / 2.0f;
    const float *out = lmmiqa__metaiqa_forward(m, w, 3, 1, NULL);
    compare_values(g, "out", out, 3);
    float loss = (float)lmmiqa_nn_mse_loss(3, out, target, dout);
    compare_values_tol(g, "loss", &loss, 1, 1e-3);
    lmmiqa_nn_params_zero_grad(&m->params);
    lmmiqa__metaiqa_backward(m, w, 3, dout);
    compare_params(g, &m->params, "grad");
    compare_params(g, &m->params, "buffer");
    lmmiqa_nn_optim o;
    lmmiqa_nn_optim_defaults(&o, LMMIQA_NN_ADAM, 1e-3);
    CHECK_OK(lmmiqa_nn_optim_init(&o, &m->params));
    unsigned char *frozen = calloc(m->params.count, 1);
    frozen[m->fc_b] = frozen[m->h_fc1_b] = frozen[m->h_fc2_b] = 1;
    lmmiqa_nn_optim_step(&o, &m->params, 0, frozen);
    free(frozen);
    out = lmmiqa__metaiqa_forward(m, w, 3, 0, NULL);
    compare_values(g, "out_eval_after_step", out, 3);
    lmmiqa__metaiqa_work_destroy(w);
    lmmiqa_metaiqa_destroy(m);
    golden_free(g);
}

int main(void)
{
    lmmiqa_nn_set_threads(1);
    RUN(test_cnniqa);
    RUN(test_metaiqa);
    return test_finish();
}
