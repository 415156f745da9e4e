/* TFLite / gemmlowp fixed-point primitives, exactly as TFLM's reference kernels use them
 * (twins: emc/kmodel/layers/generic_math.py and generic_softmax.py). */
#ifndef EMC_G_FIXEDPOINT_H
#define EMC_G_FIXEDPOINT_H
#include "emc_internal.h"

static inline int32_t g_wrap32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

/* SaturatingRoundingDoublingHighMul. TFLite adds a nudge of 2^30 (ab >= 0) or 1 - 2^30 and
 * divides by 2^31 truncating; for both signs that is floor((ab + 2^30) / 2^31), one arithmetic
 * shift (>> of a negative value is arithmetic on every compiler this runtime supports, as in
 * g_rdbpot), which saves the sign-dependent nudge and division fix-up on 32-bit cores. */
static inline int32_t g_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN)
        return INT32_MAX;
    return (int32_t)(((int64_t)a * (int64_t)b + (1 << 30)) >> 31);
}

/* RoundingDivideByPOT: round half away from zero */
static inline int32_t g_rdbpot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* MultiplyByQuantizedMultiplier (TFLM reference, double rounding) */
static inline int32_t g_mbqm(int32_t x, int32_t m, int shift)
{
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    return g_rdbpot(g_srdhm(g_wrap32((int64_t)x * ((int64_t)1 << left)), m), right);
}

static inline int8_t g_clamp8(int32_t v, int32_t lo, int32_t hi)
{
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

/* Field range check helper for generic bodies. */
static inline emc_status_t g_range(emc_check_t *c, uint32_t field, int64_t lo, int64_t hi, int is_signed)
{
    int64_t v = is_signed ? (int64_t)emc_fi(c->b, field) : (int64_t)emc_f(c->b, field);
    return (v < lo || v > hi) ? emc_fail(c, EMC_E_BODY, field) : EMC_OK;
}
#endif
