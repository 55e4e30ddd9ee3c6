/*
 * src/learn/svr_smo.c - epsilon-SVR training: the libsvm-style SMO solver
 * for the dual with 2n variables, RBF kernel.
 *
 * The dual (Chang and Lin, libsvm section 2.4): variables a_t, t = 0..2n-1,
 * with sign s_t = +1 for t < n (alpha+) and -1 for t >= n (alpha-),
 *   min 1/2 a^T Q a + p^T a,  s^T a = 0,  0 <= a_t <= C,
 *   Q_tu = s_t s_u K(x_{t mod n}, x_{u mod n}),
 *   p_t = epsilon - y_t (t < n),  p_t = epsilon + y_{t-n} (t >= n).
 * Each iteration picks a pair by second-order working set selection (WSS2,
 * Fan, Chen and Lin 2005), solves the two-variable subproblem analytically
 * with clipping, and updates the gradient G = Q a + p. It stops when the
 * maximal violating pair's gap m(a) - M(a) falls below tol (libsvm: 1e-3).
 * No shrinking: the kernel is precomputed once as an n x n float matrix
 * (LMMIQA__SVR_MAX_ROWS bounds it), which makes every row a lookup.
 * The fitted function is f(x) = sum_i (a_i - a_{i+n}) K(x_i, x) - rho.
 */
#include "learn/svr_smo.h"

#include "core/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TAU 1e-12

void lmmiqa__svr_solution_free(lmmiqa__svr_solution *sol)
{
    if (!sol)
        return;
    free(sol->alpha);
    free(sol->coef);
    sol->alpha = sol->coef = NULL;
}

/* K [n, n] float, symmetric: exp(-gamma |x_i - x_j|^2) in double, rounded. */
static void kernel_matrix(const lmmiqa__svr_problem *p, float *K)
{
    const size_t n = p->n;
    for (size_t i = 0; i < n; i++) {
        K[i * n + i] = 1.0f;
        for (size_t j = i + 1; j < n; j++) {
            float v = (float)lmmiqa__svr_rbf(p->x + i * p->dim, p->x + j * p->dim, p->dim,
                                             p->gamma);
            K[i * n + j] = v;
            K[j * n + i] = v;
        }
    }
}

int lmmiqa__svr_solve(const lmmiqa__svr_problem *p, lmmiqa__svr_solution *sol)
{
    memset(sol, 0, sizeof *sol);
    const size_t n = p->n, l = 2 * n;
    if (n == 0)
        return lmmiqa__fail(LMMIQA_ERR_INVALID_ARG, "svr: no training rows");
    if (n > LMMIQA__SVR_MAX_ROWS)
        return lmmiqa__fail(LMMIQA_ERR_TOO_LARGE, "svr: %zu rows exceed the limit of %d", n,
                            LMMIQA__SVR_MAX_ROWS);
    const double C = p->c;
    float *K = lmmiqa__malloc(n * n * sizeof *K);
    double *G = lmmiqa__malloc(l * sizeof *G);
    sol->alpha = lmmiqa__calloc(l, sizeof *sol->alpha);
    sol->coef = lmmiqa__calloc(n, sizeof *sol->coef);
    if (!K || !G || !sol->alpha || !sol->coef) {
        free(K);
        free(G);
        lmmiqa__svr_solution_free(sol);
        return LMMIQA_ERR_NOMEM;
    }
    kernel_matrix(p, K);
    double *a = sol->alpha;
    for (size_t t = 0; t < l; t++)
        G[t] = t < n ? p->epsilon - p->y[t] : p->epsilon + p->y[t - n];
#define SGN(t) ((t) < n ? 1.0 : -1.0)
#define KIJ(t, u) ((double)K[((t) % n) * n + ((u) % n)])
#define UPPER(t) (a[t] >= C)
#define LOWER(t) (a[t] <= 0.0)
    long max_iter = p->max_iter > 0 ? p->max_iter : (100 * (long)l > 10000000 ? 100 * (long)l
                                                                               : 10000000);
    long iter = 0;
    int converged = 0;
    while (iter < max_iter) {
        /* WSS2: i maximises -s_t G_t over I_up; j minimises the second-order
         * objective decrease over I_low among violators with i. */
        double gmax = -INFINITY, gmax2 = -INFINITY;
        long ii = -1, jj = -1;
        for (size_t t = 0; t < l; t++) {
            if (SGN(t) > 0) {
                if (!UPPER(t) && -G[t] >= gmax) {
                    gmax = -G[t];
                    ii = (long)t;
                }
            } else if (!LOWER(t) && G[t] >= gmax) {
                gmax = G[t];
                ii = (long)t;
            }
        }
        double obj_min = INFINITY;
        size_t i = (size_t)(ii < 0 ? 0 : ii);
        double si = SGN(i);
        for (size_t t = 0; t < l; t++) {
            if (SGN(t) > 0) {
                if (LOWER(t))
                    continue;
                double diff = gmax + G[t];
                if (G[t] >= gmax2)
                    gmax2 = G[t];
                if (ii >= 0 && diff > 0.0) {
                    double quad = 2.0 - 2.0 * KIJ(i, t); /* K_ii + K_tt - 2 K_it */
                    double obj = -(diff * diff) / (quad > 0.0 ? quad : TAU);
                    if (obj <= obj_min) {
                        obj_min = obj;
                        jj = (long)t;
                    }
                }
            } else {
                if (UPPER(t))
                    continue;
                double diff = gmax - G[t];
                if (-G[t] >= gmax2)
                    gmax2 = -G[t];
                if (ii >= 0 && diff > 0.0) {
                    double quad = 2.0 - 2.0 * KIJ(i, t);
                    double obj = -(diff * diff) / (quad > 0.0 ? quad : TAU);
                    if (obj <= obj_min) {
                        obj_min = obj;
                        jj = (long)t;
                    }
                }
            }
        }
        if (gmax + gmax2 < p->tol || ii < 0 || jj < 0) {
            converged = 1;
            break;
        }
        iter++;
        size_t j = (size_t)jj;
        double sj = SGN(j);
        double Qij = si * sj * KIJ(i, j);
        double old_ai = a[i], old_aj = a[j];
        if (si != sj) {
            double quad = 2.0 + 2.0 * Qij;
            if (quad <= 0.0)
                quad = TAU;
            double delta = (-G[i] - G[j]) / quad;
            double diff = a[i] - a[j];
            a[i] += delta;
            a[j] += delta;
            if (diff > 0.0) {
                if (a[j] < 0.0) {
                    a[j] = 0.0;
                    a[i] = diff;
                }
            } else if (a[i] < 0.0) {
                a[i] = 0.0;
                a[j] = -diff;
            }
            if (diff > 0.0) {
                if (a[i] > C) {
                    a[i] = C;
                    a[j] = C - diff;
                }
            } else if (a[j] > C) {
                a[j] = C;
                a[i] = C + diff;
            }
        } else {
            double quad = 2.0 - 2.0 * Qij;
            if (quad <= 0.0)
                quad = TAU;
            double delta = (G[i] - G[j]) / quad;
            double sum = a[i] + a[j];
            a[i] -= delta;
            a[j] += delta;
            if (sum > C) {
                if (a[i] > C) {
                    a[i] = C;
                    a[j] = sum - C;
                }
            } else if (a[j] < 0.0) {
                a[j] = 0.0;
                a[i] = sum;
            }
            if (sum > C) {
                if (a[j] > C) {
                    a[j] = C;
                    a[i] = sum - C;
                }
            } else if (a[i] < 0.0) {
                a[i] = 0.0;
                a[j] = sum;
            }
        }
        double dai = a[i] - old_ai, daj = a[j] - old_aj;
        /* G_t += Q_ti dai + Q_tj daj, Q_tu = s_t s_u K */
        const float *Ki = K + (i % n) * n, *Kj = K + (j % n) * n;
        double ci = si * dai, cj = sj * daj;
        for (size_t t = 0; t < n; t++) {
            double g = ci * (double)Ki[t] + cj * (double)Kj[t];
            G[t] += g;
            G[t + n] -= g;
        }
    }
    /* rho: mean of s_t G_t over free variables, else the midpoint of the
     * feasible interval (libsvm's calculate_rho). */
    double ub = INFINITY, lb = -INFINITY, sum_free = 0.0;
    size_t nr_free = 0;
    for (size_t t = 0; t < l; t++) {
        double st = SGN(t), yG = st * G[t];
        if (UPPER(t)) {
            if (st < 0)
                ub = fmin(ub, yG);
            else
                lb = fmax(lb, yG);
        } else if (LOWER(t)) {
            if (st > 0)
                ub = fmin(ub, yG);
            else
                lb = fmax(lb, yG);
        } else {
            nr_free++;
            sum_free += yG;
        }
    }
    sol->rho = nr_free > 0 ? sum_free / (double)nr_free : 0.5 * (ub + lb);
    for (size_t t = 0; t < n; t++)
        sol->coef[t] = a[t] - a[t + n];
    sol->iterations = iter;
    sol->converged = converged;
#undef SGN
#undef KIJ
#undef UPPER
#undef LOWER
    free(K);
    free(G);
    return LMMIQA_OK;
}
