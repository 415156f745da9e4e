/* QUANTIZE (11): f32 -> u8, q = roundf((x - bias) * (1/scale)) clamped to 0..255 (current SDK
 * kpu.c). The clamp happens in float so that huge values and NaN (-> 0) stay defined. */
#include <math.h>

#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_OUT, F_COUNT, F_SCALE, F_BIAS, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t n = emc_f(b, F_COUNT);
    float scale = emc_ff(b, F_SCALE);
    if (!(scale == scale) || scale == 0.0f || scale - scale != 0.0f) /* NaN, 0 or infinite */
        return emc_fail(c, EMC_E_BODY, F_SCALE);
    return emc_check_main_io(c, F_IN, (uint64_t)n * 4u, F_OUT, n, EMC_DT_U8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN);
    uint8_t *dst = x->main + emc_f(b, F_OUT);
    uint32_t i, n = emc_f(b, F_COUNT);
    float inv = 1.0f / emc_ff(b, F_SCALE), bias = emc_ff(b, F_BIAS);
    for (i = 0; i < n; i++) {
        float r = roundf((emc_ldf(src + 4u * i) - bias) * inv);
        dst[i] = (uint8_t)(!(r > 0.0f) ? 0 : r > 255.0f ? 255 : (int)r);
    }
    emc_out_main(x, emc_f(b, F_OUT), n, EMC_DT_U8);
}

const emc_kernel_t emc_k_quantize = {11, 4 * N_FIELDS, "QUANTIZE", check, run};
