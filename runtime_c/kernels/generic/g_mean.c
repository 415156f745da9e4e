/* GENERIC_MEAN (0x400D): TFLM reference QuantizedMeanOrSum (int8) over the middle of an
 * (outer, reduce, inner) view: int32 sum - input_zp * reduce, MultiplyByQuantizedMultiplier with
 * the count already folded into the multiplier (emc/kmodel/layers/generic_mean.py), + output zp. */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_OUTER, F_REDUCE, F_INNER, F_IN_ZP, F_OUT_ZP, F_MUL, F_SHIFT, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t outer = emc_f(b, F_OUTER), inner = emc_f(b, F_INNER);
    if (g_range(c, F_OUTER, 1, 1 << 24, 0) || g_range(c, F_REDUCE, 1, 1 << 24, 0) ||
        g_range(c, F_INNER, 1, 1 << 24, 0) || g_range(c, F_IN_ZP, -128, 127, 1) ||
        g_range(c, F_OUT_ZP, -128, 127, 1) || g_range(c, F_MUL, 0, INT32_MAX, 1) || g_range(c, F_SHIFT, -31, 30, 1))
        return c->err.status;
    return emc_check_main_io(c, F_IN, outer * emc_f(b, F_REDUCE) * inner, F_OUT, outer * inner, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, F_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, F_OUT));
    uint32_t o, r, i, outer = emc_f(b, F_OUTER), reduce = emc_f(b, F_REDUCE), inner = emc_f(b, F_INNER);
    int32_t mul = emc_fi(b, F_MUL), shift = emc_fi(b, F_SHIFT), zp_out = emc_fi(b, F_OUT_ZP);
    int64_t zp_sum = (int64_t)emc_fi(b, F_IN_ZP) * reduce;
    for (o = 0; o < outer; o++)
        for (i = 0; i < inner; i++) {
            int64_t sum = 0;
            const int8_t *p = in + (size_t)o * reduce * inner + i;
            for (r = 0; r < reduce; r++)
                sum += p[(size_t)r * inner];
            out[(size_t)o * inner + i] =
                g_clamp8(g_mbqm(g_wrap32(sum - zp_sum), mul, shift) + zp_out, -128, 127);
        }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)outer * inner, EMC_DT_I8);
}

const emc_kernel_t emc_g_mean = {0x400D, 4 * N_FIELDS, "GENERIC_MEAN", check, run};
