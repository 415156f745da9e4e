/* GENERIC_SOFTMAX (0x4009): TFLM reference Softmax<int8, int8> (gemmlowp fixed point: Q5.26
 * differences, exp_on_negative_values, Q12.19 sum, GetReciprocal). */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_OUTER, F_DEPTH, F_MUL, F_LSH, F_DIFF_MIN, N_FIELDS };

/* SaturatingRoundingMultiplyByPOT<e>, e > 0 */
static int32_t sat_shl(int32_t x, int e)
{
    int32_t thr = (int32_t)(((int64_t)1 << (31 - e)) - 1);
    if (x > thr)
        return INT32_MAX;
    if (x < -thr)
        return INT32_MIN;
    return g_wrap32((int64_t)x * ((int64_t)1 << e));
}

static int32_t exp_interval(int32_t a)
{
    int32_t x = a + (1 << 28), x2 = g_srdhm(x, x), x3 = g_srdhm(x2, x), x4 = g_srdhm(x2, x2);
    int32_t x4_over_4 = g_rdbpot(x4, 2);
    int32_t t = g_rdbpot(g_srdhm(x4_over_4 + x3, 715827883) + x2, 1);
    return 1895147668 + g_srdhm(1895147668, x + t);
}

/* exp_on_negative_values for FixedPoint<int32, 5> */
static int32_t exp_neg(int32_t a)
{
    static const int32_t mult[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int frac = 26;
    int32_t one_quarter = 1 << (frac - 2), a_mod = (a & (one_quarter - 1)) - one_quarter, rem, result;
    int e;
    result = exp_interval(sat_shl(a_mod, 5));
    rem = a_mod - a;
    for (e = -2; e <= 4; e++)
        if (rem & (1 << (frac + e)))
            result = g_srdhm(result, mult[e + 2]);
    return a == 0 ? INT32_MAX : result;
}

static int32_t one_over_one_plus_x(int32_t a)
{
    int64_t sum = (int64_t)a + INT32_MAX;
    int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2), x;
    int i;
    x = 1515870810 + g_srdhm(half_den, -1010580540);
    for (i = 0; i < 3; i++) {
        int32_t one_minus = (1 << 29) - g_srdhm(half_den, x);
        x = x + sat_shl(g_srdhm(x, one_minus), 2);
    }
    return sat_shl(x, 1);
}

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t n = (uint64_t)emc_f(b, F_OUTER) * emc_f(b, F_DEPTH);
    if (g_range(c, F_OUTER, 1, 1 << 24, 0) || g_range(c, F_DEPTH, 1, 2047, 0) /* sum of exps < 2^30: shifts stay < 32 */ || g_range(c, F_MUL, 0, INT32_MAX, 1) ||
        g_range(c, F_LSH, 0, 31, 1) || g_range(c, F_DIFF_MIN, INT32_MIN, 0, 1))
        return c->err.status;
    return emc_check_main_io(c, F_IN, n, F_OUT, n, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, F_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, F_OUT));
    uint32_t outer = emc_f(b, F_OUTER), depth = emc_f(b, F_DEPTH), i, c;
    int32_t mul = emc_fi(b, F_MUL), lsh = emc_fi(b, F_LSH), diff_min = emc_fi(b, F_DIFF_MIN);
    for (i = 0; i < outer; i++) {
        const int8_t *xr = in + (size_t)i * depth;
        int8_t *yr = out + (size_t)i * depth;
        int32_t mx = -128, sum = 0, scale, bits, clz;
        uint32_t u;
        for (c = 0; c < depth; c++)
            mx = xr[c] > mx ? xr[c] : mx;
        for (c = 0; c < depth; c++) {
            int32_t d = xr[c] - mx;
            if (d >= diff_min)
                sum = g_wrap32((int64_t)sum + g_rdbpot(exp_neg(g_srdhm(g_wrap32((int64_t)d * ((int64_t)1 << lsh)), mul)), 12));
        }
        u = (uint32_t)sum;
        for (clz = 0; clz < 32 && !(u & (0x80000000u >> clz)); clz++)
            ;
        bits = 12 - clz;
        scale = one_over_one_plus_x(g_wrap32((int64_t)(uint32_t)(clz < 32 ? u << clz : 0u) - (int64_t)0x80000000u));
        /* output before the in-place overwrite of xr: compute all, xr may alias yr element-wise */
        for (c = 0; c < depth; c++) {
            int32_t d = xr[c] - mx;
            if (d >= diff_min) {
                int32_t e = exp_neg(g_srdhm(g_wrap32((int64_t)d * ((int64_t)1 << lsh)), mul));
                int32_t v = g_rdbpot(g_srdhm(scale, e), bits + 31 - 8) - 128;
                yr[c] = g_clamp8(v, -128, 127);
            } else {
                yr[c] = -128;
            }
        }
    }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)outer * depth, EMC_DT_I8);
}

const emc_kernel_t emc_g_softmax = {0x4009, 4 * N_FIELDS, "GENERIC_SOFTMAX", check, run};
