/* DEQUANTIZE (12): u8 -> f32, x = q*scale + bias (two roundings: build with -ffp-contract=off). */
#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_OUT, F_COUNT, F_SCALE, F_BIAS, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t n = emc_f(b, F_COUNT);
    return emc_check_main_io(c, F_IN, n, F_OUT, (uint64_t)n * 4u, EMC_DT_F32);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN);
    uint8_t *dst = x->main + emc_f(b, F_OUT);
    uint32_t i, n = emc_f(b, F_COUNT);
    float scale = emc_ff(b, F_SCALE), bias = emc_ff(b, F_BIAS);
    /* The f32 output is 4x wider than its u8 input: walk downwards when it starts above the
     * input so that an overlapping output never clobbers bytes still to be read. */
    if (dst > src) {
        for (i = n; i-- > 0;) {
            float p = (float)src[i] * scale;
            emc_stf(dst + 4u * i, p + bias);
        }
    } else {
        for (i = 0; i < n; i++) {
            float p = (float)src[i] * scale;
            emc_stf(dst + 4u * i, p + bias);
        }
    }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)n * 4u, EMC_DT_F32);
}

const emc_kernel_t emc_k_dequantize = {12, 4 * N_FIELDS, "DEQUANTIZE", check, run};
