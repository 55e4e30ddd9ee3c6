/*
 * tests/test_vit_kernels.c - every fast kernel of the neural runtime against
 * its plain reference (src/tensor/kernels.h), on seeded random data with
 * odd sizes (tails of the 8-wide loops) and row strides.
 * Tolerances: sgemm |fast - ref| <= 1e-5 * sum_k |a||b| (float accumulation
 * vs double); LayerNorm 2e-5 absolute (unit-variance outputs); softmax 1e-6
 * absolute; exp 1e-6 relative over [-87, 88]; oneDNN products (tensor/matmul.h, packed
 * weights, fused bias / activation / residual, strided attention operands,
 * two threads on their own slots) |fast - ref| <= 1e-5 * (sum_k |a||b| +
 * |bias| + |c before|) + 1e-6 (the activations add ~1e-7 relative).
 */
#include "lmmiqa/rng.h"
#include "tensor/kernels.h"
#include "tensor/matmul.h"
#include "test.h"

static lmmiqa_rng rng;

static void fill(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(lmmiqa_rng_normal(&rng) * scale);
}

static void test_sgemm(void)
{
    const int shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 17, 64}, {197, 40, 64}, {3, 70, 129}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
                float *a = malloc(sizeof(float) * (size_t)(ta ? k : m) * lda);
                float *b = malloc(sizeof(float) * (size_t)(tb ? n : k) * ldb);
                float *c1 = malloc(sizeof(float) * (size_t)m * ldc);
                float *c2 = malloc(sizeof(float) * (size_t)m * ldc);
                fill(a, (size_t)(ta ? k : m) * lda, 1);
                fill(b, (size_t)(tb ? n : k) * ldb, 1);
                fill(c1, (size_t)m * ldc, 1);
                memcpy(c2, c1, sizeof(float) * (size_t)m * ldc);
                float beta = (s % 2) ? 1.0f : 0.0f;
                lmmiqa__sgemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, beta, c1, ldc);
                lmmiqa__sgemm_ref(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, beta, c2, ldc);
                double worst = 0;
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double mag = 1e-30;
                        for (int p = 0; p < k; p++)
                            mag += fabs(ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]) *
                                   fabs(tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j]);
                        double e = fabs(c1[(size_t)i * ldc + j] - c2[(size_t)i * ldc + j]) / mag;
                        worst = e > worst ? e : worst;
                    }
                CHECK_MSG(worst <= 1e-5, "sgemm %dx%dx%d ta %d tb %d: rel err %.3g", m, n, k, ta,
                          tb, worst);
                free(a);
                free(b);
                free(c1);
                free(c2);
            }
}

static void test_layernorm(void)
{
    const int sizes[] = {1, 7, 8, 64, 131, 768};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int n = sizes[s], rows = 5, ld = n + 3;
        float *x = malloc(sizeof(float) * rows * ld);
        float *o1 = malloc(sizeof(float) * rows * n), *o2 = malloc(sizeof(float) * rows * n);
        float *g = malloc(sizeof(float) * n), *be = malloc(sizeof(float) * n);
        fill(x, (size_t)rows * ld, 3);
        for (int i = 0; i < rows * ld; i++)
            x[i] += 5.0f; /* a mean far from zero */
        fill(g, n, 1);
        fill(be, n, 1);
        lmmiqa__layernorm(rows, n, x, ld, g, be, 1e-5f, o1, n);
        lmmiqa__layernorm_ref(rows, n, x, ld, g, be, 1e-5f, o2, n);
        double md = 0;
        for (int i = 0; i < rows * n; i++)
            md = fmax(md, fabs(o1[i] - o2[i]));
        CHECK_MSG(md <= 2e-5, "layernorm n %d: max abs diff %.3g", n, md);
        /* in place (out = x, row stride n): the same numbers */
        float *y = malloc(sizeof(float) * rows * n);
        for (int r = 0; r < rows; r++)
            memcpy(y + (size_t)r * n, x + (size_t)r * ld, sizeof(float) * n);
        lmmiqa__layernorm(rows, n, y, n, g, be, 1e-5f, y, n);
        CHECK_MSG(memcmp(y, o1, sizeof(float) * rows * n) == 0, "layernorm n %d in place", n);
        free(y);
        free(x);
        free(o1);
        free(o2);
        free(g);
        free(be);
    }
}

static void test_softmax(void)
{
    const int sizes[] = {1, 5, 8, 17, 197, 257};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int n = sizes[s], rows = 4, ld = n + 1;
        float *a = malloc(sizeof(float) * rows * ld), *b = malloc(sizeof(float) * rows * ld);
        fill(a, (size_t)rows * ld, 4);
        a[0] = 80.0f; /* large logits must not overflow */
        memcpy(b, a, sizeof(float) * rows * ld);
        lmmiqa__softmax_rows(rows, n, a, ld);
        lmmiqa__softmax_rows_ref(rows, n, b, ld);
        double md = 0;
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < n; i++)
                md = fmax(md, fabs(a[r * ld + i] - b[r * ld + i]));
        CHECK_MSG(md <= 1e-6, "softmax n %d: %.3g", n, md);
        free(a);
        free(b);
    }
}

static void test_exp(void)
{
    enum { N = 20001 };
    static float x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = -87.0f + 175.0f * (float)i / (N - 1);
    lmmiqa__exp(N, x, y);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double ref = exp((double)x[i]);
        worst = fmax(worst, fabs(y[i] - ref) / ref);
    }
    CHECK_MSG(worst <= 1e-6, "exp: rel err %.3g", worst);
    float big[2] = {200.0f, -200.0f}, out[2];
    lmmiqa__exp(2, big, out);
    CHECK(isfinite(out[0]) && out[0] > 1e38f && out[1] >= 0.0f && out[1] < 1e-37f);
}

/* Worst error of c (from `before`) against the reference, scaled as above. */
static double mm_err(const lmmiqa__mm_op *op, const float *a, const float *b, const float *bias,
                     const float *before, const float *c)
{
    float *ref = malloc(sizeof(float) * (size_t)op->m * op->ldc);
    memcpy(ref, before, sizeof(float) * (size_t)op->m * op->ldc);
    lmmiqa__mm_run_ref(op, a, b, bias, ref);
    double worst = 0;
    for (int i = 0; i < op->m; i++)
        for (int j = 0; j < op->n; j++) {
            double mag = (op->bias ? fabs(bias[j]) : 0) +
                         (op->accumulate ? fabs(before[(size_t)i * op->ldc + j]) : 0);
            for (int p = 0; p < op->k; p++) {
                double y = op->b == LMMIQA__MM_B_PACKED ? b[(size_t)j * op->k + p]
                           : op->b == LMMIQA__MM_B_NT   ? b[(size_t)j * op->ldb + p]
                                                        : b[(size_t)p * op->ldb + j];
                mag += fabs(a[(size_t)i * op->lda + p] * y);
            }
            size_t at = (size_t)i * op->ldc + j;
            double e = fabs((double)c[at] - ref[at]) / (1e-5 * mag + 1e-6);
            worst = e > worst ? e : worst;
        }
    free(ref);
    return worst;
}

static void test_matmul_linear(void)
{
    const int shapes[][3] = {{1, 64, 48}, {5, 96, 80}, {197, 130, 70}, {33, 768, 588}};
    lmmiqa__mm *mm = NULL;
    CHECK_OK(lmmiqa__mm_create(1, &mm));
    for (size_t s = 0; mm && s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        size_t np = lmmiqa__mm_packed_floats(n, k);
        CHECK(np >= (size_t)n * k);
        float *a = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k);
        float *wp = malloc(sizeof(float) * np), *bias = malloc(sizeof(float) * n);
        float *c0 = malloc(sizeof(float) * m * n), *c = malloc(sizeof(float) * m * n);
        fill(a, (size_t)m * k, 1);
        fill(w, (size_t)n * k, 0.2f);
        fill(bias, (size_t)n, 1);
        fill(c0, (size_t)m * n, 1);
        CHECK_OK(lmmiqa__mm_pack(n, k, w, wp));
        for (int variant = 0; variant < 6; variant++) {
            int act = variant % 3, acc = variant >= 3, has_bias = variant != 2;
            lmmiqa__mm_op op = {m, n, k, k, 0, n, LMMIQA__MM_B_PACKED, has_bias, act, acc, 1.0f};
            if (acc)
                op.act = LMMIQA__MM_NO_ACT;
            memcpy(c, c0, sizeof(float) * m * n);
            lmmiqa__mm_w pw = {wp, LMMIQA__MM_B_PACKED}, rows = {w, LMMIQA__MM_B_NT};
            CHECK_OK(lmmiqa__mm_linear(mm, m, n, k, a, pw, has_bias ? bias : NULL, op.act, acc,
                                       c, n));
            double e = mm_err(&op, a, w, bias, c0, c);
            CHECK_MSG(e <= 1, "linear %dx%dx%d act %d bias %d acc %d: err %.3g of tolerance", m,
                      n, k, op.act, has_bias, acc, e);
            /* the same product on the plain rows (weights used in place) */
            memcpy(c, c0, sizeof(float) * m * n);
            CHECK_OK(lmmiqa__mm_linear(mm, m, n, k, a, rows, has_bias ? bias : NULL, op.act, acc,
                                       c, n));
            e = mm_err(&op, a, w, bias, c0, c);
            CHECK_MSG(e <= 1, "in place %dx%dx%d act %d bias %d acc %d: err %.3g of tolerance",
                      m, n, k, op.act, has_bias, acc, e);
        }
        free(a), free(w), free(wp), free(bias), free(c0), free(c);
    }
    lmmiqa__mm_destroy(mm);
}

/* Q K^T and S V as the attention runs them: strided operands, two slots. */
static void test_matmul_strided(void)
{
    const int T = 37, d = 16, W = 48, ld = 3 * W;
    float *qkv = malloc(sizeof(float) * T * ld), *s = malloc(sizeof(float) * 2 * T * T);
    float *att = calloc((size_t)T * W, sizeof(float));
    float *zero = calloc((size_t)T * W + W, sizeof(float)); /* read from zero + d */
    fill(qkv, (size_t)T * ld, 1);
    lmmiqa__mm_op qk = {T, T, d, ld, ld, T, LMMIQA__MM_B_NT, 0, LMMIQA__MM_NO_ACT, 0, 0.25f};
    lmmiqa__mm_op sv = {T, d, T, T, ld, W, LMMIQA__MM_B_NN, 0, LMMIQA__MM_NO_ACT, 0, 1.0f};
    lmmiqa__mm *mm = NULL;
    lmmiqa__mm_plan *pqk = NULL, *psv = NULL;
    CHECK_OK(lmmiqa__mm_create(2, &mm));
    CHECK_OK(lmmiqa__mm_prepare(mm, &qk, &pqk));
    CHECK_OK(lmmiqa__mm_prepare(mm, &sv, &psv));
    int fails = 0;
    LMMIQA__OMP(omp parallel for num_threads(2) schedule(static) reduction(+ : fails))
    for (int h = 0; h < 3; h++) {
        int slot = lmmiqa__thread_num();
        const float *q = qkv + h * d;
        fails += lmmiqa__mm_run(pqk, slot, q, q + W, NULL, s + (size_t)slot * T * T) != 0;
        fails += lmmiqa__mm_run(psv, slot, s + (size_t)slot * T * T, q + 2 * W, NULL,
                                att + h * d) != 0;
    }
    CHECK(fails == 0);
    /* check head 1 serially against the reference */
    float *s1 = malloc(sizeof(float) * T * T);
    const float *q = qkv + d;
    CHECK_OK(lmmiqa__mm_run(pqk, 0, q, q + W, NULL, s1));
    double e = mm_err(&qk, q, q + W, NULL, s1, s1);
    CHECK_MSG(e <= 1, "Q K^T: err %.3g of tolerance", e);
    e = mm_err(&sv, s1, q + 2 * W, NULL, zero + d, att + d);
    CHECK_MSG(e <= 1, "S V (threaded): err %.3g of tolerance", e);
    free(s1);
    lmmiqa__mm_destroy(mm);
    free(qkv), free(s), free(att), free(zero);
}

int main(void)
{
    lmmiqa_rng_seed(&rng, 5);
    RUN(test_sgemm);
    RUN(test_layernorm);
    RUN(test_softmax);
    RUN(test_exp);
    RUN(test_matmul_linear);
    RUN(test_matmul_strided);
    return test_finish();
}
