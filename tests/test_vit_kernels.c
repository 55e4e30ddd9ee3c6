/*
 * tests/test_vit_kernels.c - every fast kernel of the neural runtime against
 * its plain reference (src/tensor/kernels.h), on seeded random data with
 * odd sizes (tails of the 8-wide loops) and row strides.
 * Tolerances: sgemm |fast - ref| <= 1e-5 * sum_k |a||b| (float accumulation
 * vs double); LayerNorm 2e-5 absolute (unit-variance outputs); softmax 1e-6
 * absolute; QuickGELU 2e-6 relative + 1e-7 absolute; GELU 1e-6 absolute;
 * exp 1e-6 relative over [-87, 88].
 */
#include "lmmiqa/rng.h"
#include "tensor/kernels.h"
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
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            int n = sizes[s], rows = 5, ld = n + 3;
            float *x1 = malloc(sizeof(float) * rows * ld), *x2 = malloc(sizeof(float) * rows * ld);
            float *o1 = malloc(sizeof(float) * rows * n), *o2 = malloc(sizeof(float) * rows * n);
            float *g = malloc(sizeof(float) * n), *be = malloc(sizeof(float) * n);
            float *bias = malloc(sizeof(float) * n);
            fill(x1, (size_t)rows * ld, 3);
            for (int i = 0; i < rows * ld; i++)
                x1[i] += 5.0f; /* a mean far from zero */
            memcpy(x2, x1, sizeof(float) * rows * ld);
            fill(g, n, 1);
            fill(be, n, 1);
            fill(bias, n, 1);
            lmmiqa__layernorm(rows, n, x1, ld, with_bias ? bias : NULL, g, be, 1e-5f, o1, n);
            lmmiqa__layernorm_ref(rows, n, x2, ld, with_bias ? bias : NULL, g, be, 1e-5f, o2, n);
            double md = 0, mx = 0;
            for (int i = 0; i < rows * n; i++)
                md = fmax(md, fabs(o1[i] - o2[i]));
            for (int i = 0; i < rows * ld; i++)
                mx = fmax(mx, fabs(x1[i] - x2[i]));
            CHECK_MSG(md <= 2e-5 && mx <= 1e-6, "layernorm n %d bias %d: out %.3g, x %.3g", n,
                      with_bias, md, mx);
            free(x1);
            free(x2);
            free(o1);
            free(o2);
            free(g);
            free(be);
            free(bias);
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

static void test_bias_act(void)
{
    for (int act = 0; act < 3; act++) {
        int rows = 3, n = 203;
        float *a = malloc(sizeof(float) * rows * n), *b = malloc(sizeof(float) * rows * n);
        float *bias = malloc(sizeof(float) * n);
        fill(a, (size_t)rows * n, 4);
        a[0] = -60.0f;
        a[1] = 60.0f;
        fill(bias, n, 1);
        memcpy(b, a, sizeof(float) * rows * n);
        lmmiqa__bias_act(rows, n, a, bias, act);
        lmmiqa__bias_act_ref(rows, n, b, bias, act);
        double worst = 0;
        for (int i = 0; i < rows * n; i++) {
            double tol = act == 1 ? 1e-6 : 2e-6 * fabs(b[i]) + 1e-7;
            worst = fmax(worst, fabs(a[i] - b[i]) / tol);
        }
        CHECK_MSG(worst <= 1.0, "bias_act %d: error %.3g x tolerance", act, worst);
        free(a);
        free(b);
        free(bias);
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

int main(void)
{
    lmmiqa_rng_seed(&rng, 5);
    RUN(test_sgemm);
    RUN(test_layernorm);
    RUN(test_softmax);
    RUN(test_bias_act);
    RUN(test_exp);
    return test_finish();
}
