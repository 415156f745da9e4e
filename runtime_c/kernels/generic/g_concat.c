/* GENERIC_CONCAT (0x4007): TFLM reference Concatenation for int8 sharing one quantization:
 * per outer slice, each input's chunk appended in order (byte copies). */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_OUT, F_COUNT, F_OUTER, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t i, n = emc_f(b, F_COUNT), outer = emc_f(b, F_OUTER);
    uint64_t row = 0;
    if (g_range(c, F_COUNT, 1, 1024, 0) || g_range(c, F_OUTER, 1, 1 << 24, 0))
        return c->err.status;
    if (emc_chk_tail(c, F_COUNT, 4 * N_FIELDS, 8u * (uint64_t)n))
        return c->err.status;
    for (i = 0; i < n; i++) {
        uint32_t fa = N_FIELDS + 2 * i;
        if (emc_chk_main(c, fa, emc_f(b, fa), (uint64_t)outer * emc_f(b, fa + 1)))
            return c->err.status;
        row += emc_f(b, fa + 1);
    }
    if (emc_chk_main(c, F_OUT, emc_f(b, F_OUT), row * outer))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, F_OUT), (uint32_t)(row * outer), EMC_DT_I8);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    uint8_t *dst = x->main + emc_f(b, F_OUT), *o = dst;
    uint32_t i, k, n = emc_f(b, F_COUNT), outer = emc_f(b, F_OUTER);
    for (k = 0; k < outer; k++)
        for (i = 0; i < n; i++) {
            uint32_t fa = N_FIELDS + 2 * i, sz = emc_f(b, fa + 1);
            memmove(o, x->main + emc_f(b, fa) + (size_t)k * sz, sz);
            o += sz;
        }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)(o - dst), EMC_DT_I8);
}

const emc_kernel_t emc_g_concat = {0x4007, 4 * N_FIELDS, "GENERIC_CONCAT", check, run};
