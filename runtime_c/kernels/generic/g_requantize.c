/* GENERIC_REQUANTIZE (0x4011): TFLM reference Requantize (QUANTIZE between uint8 and int8 or an
 * int8 rescale): (q - in_zp) through MultiplyByQuantizedMultiplier + out_zp, clamped to the output
 * type. TFLM's uint8 <-> int8 fast path (XOR 0x80) gives the same bytes. */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_COUNT, F_IN_DT, F_OUT_DT, F_IN_ZP, F_OUT_ZP, F_MUL, F_SHIFT, N_FIELDS };

static emc_status_t range_of(emc_check_t *c, uint32_t dt_field, uint32_t zp_field)
{
    uint32_t dt = emc_f(c->b, dt_field);
    if (dt != EMC_DT_U8 && dt != EMC_DT_I8)
        return emc_fail(c, EMC_E_BODY, dt_field);
    return dt == EMC_DT_U8 ? g_range(c, zp_field, 0, 255, 1) : g_range(c, zp_field, -128, 127, 1);
}

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t n = emc_f(b, F_COUNT);
    if (g_range(c, F_COUNT, 1, 1 << 26, 0) || range_of(c, F_IN_DT, F_IN_ZP) || range_of(c, F_OUT_DT, F_OUT_ZP) ||
        g_range(c, F_MUL, 0, INT32_MAX, 1) || g_range(c, F_SHIFT, -31, 30, 1))
        return c->err.status;
    return emc_check_main_io(c, F_IN, n, F_OUT, n, (emc_dtype_t)emc_f(b, F_OUT_DT));
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *in = x->main + emc_f(b, F_IN);
    uint8_t *out = x->main + emc_f(b, F_OUT);
    uint32_t i, n = emc_f(b, F_COUNT);
    int in_u8 = emc_f(b, F_IN_DT) == EMC_DT_U8, out_u8 = emc_f(b, F_OUT_DT) == EMC_DT_U8;
    int32_t lo = out_u8 ? 0 : -128, hi = out_u8 ? 255 : 127;
    int32_t zin = emc_fi(b, F_IN_ZP), zout = emc_fi(b, F_OUT_ZP), mul = emc_fi(b, F_MUL), sh = emc_fi(b, F_SHIFT);
    for (i = 0; i < n; i++) {
        int32_t q = in_u8 ? (int32_t)in[i] : (int32_t)(int8_t)in[i];
        int32_t v = g_mbqm(q - zin, mul, sh) + zout;
        v = v < lo ? lo : v > hi ? hi : v;
        out[i] = out_u8 ? (uint8_t)v : (uint8_t)(int8_t)v;
    }
    emc_out_main(x, emc_f(b, F_OUT), n, (emc_dtype_t)emc_f(b, F_OUT_DT));
}

const emc_kernel_t emc_g_requantize = {0x4011, 4 * N_FIELDS, "GENERIC_REQUANTIZE", check, run};
