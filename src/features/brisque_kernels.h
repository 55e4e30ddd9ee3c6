/*
 * src/features/brisque_kernels.h - the hot loops of the fast BRISQUE path,
 * written once for a vector width and included by brisque.c per
 * instruction set: VW doubles per vector (2: SSE2 / generic, 4: AVX2) and
 * FN(name) giving each instantiation its own names.
 *
 * Per element every kernel performs the same operations in the same order
 * whatever VW is (no FMA: the AVX2 instantiation enables "avx2" only), and
 * the accumulators keep 4 logical lanes (element j -> lane j % 4), so every
 * instantiation produces bit-identical features.
 */
#if !defined(VW) || !defined(FN)
#error "define VW and FN before including brisque_kernels.h"
#endif

typedef double FN(vd) __attribute__((vector_size(VW * 8)));
typedef long long FN(vi) __attribute__((vector_size(VW * 8)));
/* unaligned, aliasing view for loads and stores */
typedef double FN(vdu) __attribute__((vector_size(VW * 8), aligned(8), may_alias));
#define KD FN(vd)
#define KI FN(vi)
#define KLD(p) (*(const FN(vdu) *)(const void *)(p))
#define KST(p, v) (*(FN(vdu) *)(void *)(p) = (v))

/* Row pass: padded row x (data at x[PAD]) -> the RN arrays of one ring
 * slot: A_k = x[j+k] + x[j-k] (k = 1..3), Q_0 = x[j]^2,
 * Q_k = x[j+k]^2 + x[j-k]^2.
 * Shapes: x [PAD + n4 + 4], out[k] [n4]; n4 = width rounded up to 4. */
static void FN(row_pass)(const double *x, size_t n4, double *const out[RN])
{
    const double *p = x + PAD;
    for (size_t j = 0; j < n4; j += VW) {
        KD c = KLD(p + j);
        KD r1 = KLD(p + j + 1), l1 = KLD(p + j - 1);
        KD r2 = KLD(p + j + 2), l2 = KLD(p + j - 2);
        KD r3 = KLD(p + j + 3), l3 = KLD(p + j - 3);
        KST(out[RA1] + j, r1 + l1);
        KST(out[RA2] + j, r2 + l2);
        KST(out[RA3] + j, r3 + l3);
        KST(out[RQ0] + j, c * c);
        KST(out[RQ1] + j, r1 * r1 + l1 * l1);
        KST(out[RQ2] + j, r2 * r2 + l2 * l2);
        KST(out[RQ3] + j, r3 * r3 + l3 * l3);
    }
}

/* sqrt(|v|) per element. */
static inline KD FN(sqrt_abs)(KD v)
{
    const KI absm = (KI){0} + 0x7fffffffffffffffLL;
    v = (KD)((KI)v & absm);
#if defined(__x86_64__) && defined(__GNUC__) && VW == 2
    return (KD)_mm_sqrt_pd((__m128d)v);
#elif defined(__x86_64__) && defined(__GNUC__) && VW == 4
    return (KD)_mm256_sqrt_pd((__m256d)v);
#else
    for (int l = 0; l < VW; l++)
        v[l] = sqrt(v[l]);
    return v;
#endif
}

/* Column pass for one output row r. img[m] (m = 0..6 for rows r-3..r+3) are
 * image rows (data pointers; a zero row outside), ring[m][k] the row-pass
 * arrays of those rows. For each of the 9 weight classes {|dy|,|dx|} =
 * {a,b}: SI = sum of the class's pixels and SQ = sum of their squares (pair
 * sums in a fixed order, exact on integers), then
 *   d   = sum w (n c - SI)                       = I - mu
 *   var = sum w ((SQ - 2 c SI) + n c^2) - d^2    = filter2(w, I.^2) - mu.^2
 *   out = d / (sqrt|var| + 1)                    (MSCN)
 * Shapes: img[m] [n4], ring[m][k] [n4], w [9], out [n4]. */
static void FN(col_pass)(const double *const img[7], const double *const ring[7][RN],
                         size_t n4, const double w[NCLASS], double *out)
{
#define A(m, k) KLD(ring[3 + (m)][RA1 + (k) - 1] + j)
#define Q(m, k) KLD(ring[3 + (m)][RQ0 + (k)] + j)
#define I(m) KLD(img[3 + (m)] + j)
    const double w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5],
                 w6 = w[6], w7 = w[7], w8 = w[8];
    for (size_t j = 0; j < n4; j += VW) {
        KD c = I(0);
        KD c2 = 2.0 * c, cc = c * c;
        KD d, v, si, sq;
        /* class (0,1), n = 4 */
        si = A(0, 1) + (I(1) + I(-1));
        sq = Q(0, 1) + (Q(1, 0) + Q(-1, 0));
        d = w0 * (4.0 * c - si);
        v = w0 * ((sq - c2 * si) + 4.0 * cc);
        /* (0,2) */
        si = A(0, 2) + (I(2) + I(-2));
        sq = Q(0, 2) + (Q(2, 0) + Q(-2, 0));
        d += w1 * (4.0 * c - si);
        v += w1 * ((sq - c2 * si) + 4.0 * cc);
        /* (0,3) */
        si = A(0, 3) + (I(3) + I(-3));
        sq = Q(0, 3) + (Q(3, 0) + Q(-3, 0));
        d += w2 * (4.0 * c - si);
        v += w2 * ((sq - c2 * si) + 4.0 * cc);
        /* (1,1) */
        si = A(1, 1) + A(-1, 1);
        sq = Q(1, 1) + Q(-1, 1);
        d += w3 * (4.0 * c - si);
        v += w3 * ((sq - c2 * si) + 4.0 * cc);
        /* (1,2), n = 8 */
        si = (A(1, 2) + A(-1, 2)) + (A(2, 1) + A(-2, 1));
        sq = (Q(1, 2) + Q(-1, 2)) + (Q(2, 1) + Q(-2, 1));
        d += w4 * (8.0 * c - si);
        v += w4 * ((sq - c2 * si) + 8.0 * cc);
        /* (1,3) */
        si = (A(1, 3) + A(-1, 3)) + (A(3, 1) + A(-3, 1));
        sq = (Q(1, 3) + Q(-1, 3)) + (Q(3, 1) + Q(-3, 1));
        d += w5 * (8.0 * c - si);
        v += w5 * ((sq - c2 * si) + 8.0 * cc);
        /* (2,2) */
        si = A(2, 2) + A(-2, 2);
        sq = Q(2, 2) + Q(-2, 2);
        d += w6 * (4.0 * c - si);
        v += w6 * ((sq - c2 * si) + 4.0 * cc);
        /* (2,3) */
        si = (A(2, 3) + A(-2, 3)) + (A(3, 2) + A(-3, 2));
        sq = (Q(2, 3) + Q(-2, 3)) + (Q(3, 2) + Q(-3, 2));
        d += w7 * (8.0 * c - si);
        v += w7 * ((sq - c2 * si) + 8.0 * cc);
        /* (3,3) */
        si = A(3, 3) + A(-3, 3);
        sq = Q(3, 3) + Q(-3, 3);
        d += w8 * (4.0 * c - si);
        v += w8 * ((sq - c2 * si) + 4.0 * cc);
        KST(out + j, d / (FN(sqrt_abs)(v - d * d) + 1.0));
    }
#undef A
#undef Q
#undef I
}

/* One group of VW products into the lane accumulators at `l`. */
#define KACC_STEP(p, l)                                                                     \
    do {                                                                                    \
        KD q_ = (p) * (p);                                                                  \
        KI neg_ = (p) < zero, pos_ = (p) > zero;                                            \
        ab[l] += (KD)((KI)(p) & absm);                                                      \
        nsq[l] += (KD)((KI)q_ & neg_);                                                      \
        nn[l] += (KD)((KI)one & neg_);                                                      \
        psq[l] += (KD)((KI)q_ & pos_);                                                      \
        pn[l] += (KD)((KI)one & pos_);                                                      \
    } while (0)

/* Add the products a[j] * b[j], j < n (shapes a [n], b [n]). */
static void FN(acc_products)(acc *A, const double *a, const double *b, size_t n)
{
    const KI absm = (KI){0} + 0x7fffffffffffffffLL;
    const KD one = (KD){0} + 1.0, zero = (KD){0};
    KD ab[4 / VW], nsq[4 / VW], nn[4 / VW], psq[4 / VW], pn[4 / VW];
    for (int l = 0; l < 4 / VW; l++) {
        ab[l] = KLD(A->abs + l * VW);
        nsq[l] = KLD(A->neg_sq + l * VW);
        nn[l] = KLD(A->neg_n + l * VW);
        psq[l] = KLD(A->pos_sq + l * VW);
        pn[l] = KLD(A->pos_n + l * VW);
    }
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        KD p0 = KLD(a + j) * KLD(b + j);
        KACC_STEP(p0, 0);
#if VW == 2
        KD p1 = KLD(a + j + 2) * KLD(b + j + 2);
        KACC_STEP(p1, 1);
#endif
    }
    for (int l = 0; l < 4 / VW; l++) {
        KST(A->abs + l * VW, ab[l]);
        KST(A->neg_sq + l * VW, nsq[l]);
        KST(A->neg_n + l * VW, nn[l]);
        KST(A->pos_sq + l * VW, psq[l]);
        KST(A->pos_n + l * VW, pn[l]);
    }
    for (; j < n; j++) {
        double p = a[j] * b[j], q = p * p;
        A->abs[0] += fabs(p);
        if (p < 0) {
            A->neg_sq[0] += q;
            A->neg_n[0] += 1;
        } else if (p > 0) {
            A->pos_sq[0] += q;
            A->pos_n[0] += 1;
        }
    }
}

/* GGD sums of x[j], j < n (shape x [n]). */
static void FN(acc_values)(acc *A, const double *x, size_t n)
{
    const KI absm = (KI){0} + 0x7fffffffffffffffLL;
    KD sq[4 / VW], ab[4 / VW];
    for (int l = 0; l < 4 / VW; l++) {
        sq[l] = KLD(A->sq + l * VW);
        ab[l] = KLD(A->abs + l * VW);
    }
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        for (int l = 0; l < 4 / VW; l++) {
            KD v = KLD(x + j + l * VW);
            sq[l] += v * v;
            ab[l] += (KD)((KI)v & absm);
        }
    }
    for (int l = 0; l < 4 / VW; l++) {
        KST(A->sq + l * VW, sq[l]);
        KST(A->abs + l * VW, ab[l]);
    }
    for (; j < n; j++) {
        A->sq[0] += x[j] * x[j];
        A->abs[0] += fabs(x[j]);
    }
}

#undef KACC_STEP
#undef KD
#undef KI
#undef KLD
#undef KST
