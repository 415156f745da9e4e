/* GENERIC_QUANTIZE (0x400A): f32 -> int8, TFLM AffineQuantize: roundf(x / scale) + zero_point,
 * clamped; the float is limited to +-1e9 before the integer conversion (defined for any input;
 * NaN gives the zero point). */
#include <math.h>

#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_COUNT, F_SCALE, F_ZP, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t n = emc_f(b, F_COUNT);
    float s = emc_ff(b, F_SCALE);
    if (!(s > 0.0f) || s - s != 0.0f) /* NaN, <= 0 or infinite */
        return emc_fail(c, EMC_E_BODY, F_SCALE);
    if (g_range(c, F_ZP, -128, 127, 1))
        return c->err.status;
    return emc_check_main_io(c, F_IN, (uint64_t)n * 4u, F_OUT, n, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN);
    int8_t *dst = (int8_t *)(x->main + emc_f(b, F_OUT));
    uint32_t i, n = emc_f(b, F_COUNT);
    float s = emc_ff(b, F_SCALE);
    int32_t zp = emc_fi(b, F_ZP);
    for (i = 0; i < n; i++) {
        float r = roundf(emc_ldf(src + 4u * i) / s);
        int64_t v = r != r ? 0 : r > 1e9f ? 1000000000 : r < -1e9f ? -1000000000 : (int64_t)r;
        v += zp;
        dst[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
    }
    emc_out_main(x, emc_f(b, F_OUT), n, EMC_DT_I8);
}

const emc_kernel_t emc_g_quantize = {0x400A, 4 * N_FIELDS, "GENERIC_QUANTIZE", check, run};
