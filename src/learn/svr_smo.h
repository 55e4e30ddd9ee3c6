/*
 * src/learn/svr_smo.h - the epsilon-SVR trainer behind the SVR head
 * (internal): the dual problem, its solution and the RBF kernel. The SVR
 * head of lmmiqa/regressor.h and its tests use it; lmmiqa/svr.h is the
 * classic BRISQUE libsvm-model scorer, a different thing.
 */
#ifndef LMMIQA_LEARN_SVR_SMO_H
#define LMMIQA_LEARN_SVR_SMO_H

#include <stddef.h>

/* Largest n the SVR trainer accepts: it precomputes the n x n RBF kernel in
 * float (n = 16384 -> 1 GiB). */
#define LMMIQA__SVR_MAX_ROWS 16384

typedef struct lmmiqa__svr_problem {
    const float *x;   /* [n, dim] (already standardised) */
    const double *y;  /* [n] targets */
    size_t n, dim;
    double c, epsilon, gamma;
    double tol;       /* stopping tolerance on the maximal KKT violation (libsvm: 1e-3) */
    long max_iter;    /* 0 = max(10^7, 100 * 2n) like libsvm */
} lmmiqa__svr_problem;

typedef struct lmmiqa__svr_solution {
    double *alpha;    /* [2n]: alpha+ (0..n-1), alpha- (n..2n-1), each in [0, C] */
    double *coef;     /* [n]: alpha+ - alpha- */
    double rho;       /* f(x) = sum_i coef_i K(x_i, x) - rho */
    long iterations;
    int converged;    /* 0 when max_iter was reached first */
} lmmiqa__svr_solution;

/* Solve the epsilon-SVR dual with the libsvm-style SMO (second-order working
 * set selection, WSS2 of Fan, Chen and Lin 2005), no shrinking. Fills `sol`
 * (free with lmmiqa__svr_solution_free). */
int lmmiqa__svr_solve(const lmmiqa__svr_problem *p, lmmiqa__svr_solution *sol);
void lmmiqa__svr_solution_free(lmmiqa__svr_solution *sol);

/* RBF kernel exp(-gamma |a - b|^2) in double. */
double lmmiqa__svr_rbf(const float *a, const float *b, size_t dim, double gamma);

#endif
