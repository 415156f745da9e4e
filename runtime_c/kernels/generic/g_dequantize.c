/* GENERIC_DEQUANTIZE (0x400B): int8 -> f32, TFLM reference: (float)((double)scale * (q - zp)). */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_COUNT, F_SCALE, F_ZP, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t n = emc_f(b, F_COUNT);
    if (g_range(c, F_ZP, -128, 127, 1))
        return c->err.status;
    return emc_check_main_io(c, F_IN, n, F_OUT, (uint64_t)n * 4u, EMC_DT_F32);
}

static void one(uint8_t *dst, const int8_t *src, uint32_t i, double s, int32_t zp)
{
    emc_stf(dst + 4u * i, (float)(s * (double)((int32_t)src[i] - zp)));
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *src = (const int8_t *)(x->main + emc_f(b, F_IN));
    uint8_t *dst = x->main + emc_f(b, F_OUT);
    uint32_t i, n = emc_f(b, F_COUNT);
    double s = (double)emc_ff(b, F_SCALE);
    int32_t zp = emc_fi(b, F_ZP);
    /* the 4x wider output may overlap its input: walk downwards when it starts above it */
    if ((const uint8_t *)dst > (const uint8_t *)src)
        for (i = n; i-- > 0;)
            one(dst, src, i, s, zp);
    else
        for (i = 0; i < n; i++)
            one(dst, src, i, s, zp);
    emc_out_main(x, emc_f(b, F_OUT), (size_t)n * 4u, EMC_DT_F32);
}

const emc_kernel_t emc_g_dequantize = {0x400B, 4 * N_FIELDS, "GENERIC_DEQUANTIZE", check, run};
