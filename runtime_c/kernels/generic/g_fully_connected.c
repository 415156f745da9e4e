/* GENERIC_FULLY_CONNECTED (0x4003): TFLM reference FullyConnected (int8, per-tensor or
 * per-channel multiplier). flags bit 0 (FC_WEIGHTS_I16, emc/kmodel/layers/generic_fully_connected.py):
 * the weights are stored as little-endian int16, same values; the DSP kernel then uses the CPU
 * scratch reserved here for the input as int16, FC_I16_CHUNK inputs at a time (+ one int32 sum per
 * row when the input takes more than one chunk). flags bit 1 (FC_RQ_FAST): every channel fits
 * the DSP's fast requantization (rq_fast_ok below, checked here once; no result changes). */
#include "g_fixedpoint.h"
#if defined(EMC_USE_DSP) && EMC_USE_DSP
#include "../../ports/cortex_m/emc_dsp.h"
#endif

enum { F_FLAGS, F_IN, F_OUT, F_BATCH, F_ID, F_OD, F_IN_OFF, F_W_OFF, F_OUT_OFF, F_MIN, F_MAX, F_PERCH, N_FIELDS };
enum { FC_WEIGHTS_I16 = 1, FC_RQ_FAST = 2, FC_I16_CHUNK = 256 };

/* sum over i < id of w16[i] * (x[i] + in_off) for one row of the int16 layout (read bytewise: any
 * alignment), wrapping like TFLM's int32 accumulator */
static uint32_t row_sum_i16(const uint8_t *w16, const int8_t *x, uint32_t id, int32_t in_off)
{
    uint32_t acc = 0, i;
    for (i = 0; i < id; i++)
        acc += (uint32_t)((int32_t)(int16_t)(uint16_t)(w16[2 * i] | (uint32_t)w16[2 * i + 1] << 8) * (x[i] + in_off));
    return acc;
}

/* The FC_RQ_FAST claim (generic_fully_connected.py rq_fast_ok): every shift in [-31, -1], no
 * multiplier INT32_MIN, every bias in [-bound, bound) so that |acc| < 2^29 for any input. */
static int rq_fast_ok(const emc_body_t *b, const uint8_t *bias, uint32_t od, uint32_t nm)
{
    uint64_t id = emc_f(b, F_ID), max_sum = id * 32640u + (emc_fi(b, F_W_OFF) ? id * 255u * 255u : 0u);
    int64_t bound = max_sum < (1u << 28) ? (int64_t)(1u << 29) - (int64_t)max_sum : 0;
    const uint8_t *mul = bias + 4u * od, *sh = mul + 4u * nm;
    uint32_t i;
    for (i = 0; i < od; i++)
        if (emc_rdi32(bias + 4u * i) < -bound || emc_rdi32(bias + 4u * i) >= bound)
            return 0;
    for (i = 0; i < nm; i++)
        if (emc_rdi32(sh + 4u * i) > -1 || emc_rdi32(mul + 4u * i) == INT32_MIN)
            return 0;
    return 1;
}

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t i, od = emc_f(b, F_OD), id = emc_f(b, F_ID), nm, wsize;
    const uint8_t *sh;
    if (emc_f(b, F_FLAGS) & ~(uint32_t)(FC_WEIGHTS_I16 | FC_RQ_FAST))
        return emc_fail(c, EMC_E_BODY, F_FLAGS);
    if (g_range(c, F_BATCH, 1, 1 << 24, 0) || g_range(c, F_ID, 1, 1 << 24, 0) || g_range(c, F_OD, 1, 1 << 24, 0) ||
        g_range(c, F_IN_OFF, -127, 128, 1) || g_range(c, F_W_OFF, -127, 128, 1) || g_range(c, F_OUT_OFF, -128, 127, 1) ||
        g_range(c, F_MIN, -128, 127, 1) || g_range(c, F_MAX, emc_fi(b, F_MIN), 127, 1) || g_range(c, F_PERCH, 0, 1, 0))
        return c->err.status;
    nm = emc_f(b, F_PERCH) ? od : 1u;
    wsize = emc_f(b, F_FLAGS) & FC_WEIGHTS_I16 ? 2u : 1u;
    if (emc_chk_tail(c, F_OD, 4 * N_FIELDS, 4u * (uint64_t)od + 8u * nm + (uint64_t)od * id * wsize))
        return c->err.status;
    if (wsize == 2u) /* cpu_scratch() in the Python layer */
        emc_need_cpu_scratch(c, id <= FC_I16_CHUNK ? 2u * ((id + 3u) & ~3u) : 2u * FC_I16_CHUNK + 4u * (size_t)od);
    sh = b->p + 4 * N_FIELDS + 4u * od + 4u * nm;
    for (i = 0; i < nm; i++)
        if (emc_rdi32(sh + 4u * i) < -31 || emc_rdi32(sh + 4u * i) > 30)
            return emc_fail(c, EMC_E_BODY, F_PERCH);
    if ((emc_f(b, F_FLAGS) & FC_RQ_FAST) && !rq_fast_ok(b, b->p + 4 * N_FIELDS, od, nm))
        return emc_fail(c, EMC_E_BODY, F_FLAGS);
    return emc_check_main_io(c, F_IN, (uint64_t)emc_f(b, F_BATCH) * emc_f(b, F_ID), F_OUT,
                             (uint64_t)emc_f(b, F_BATCH) * od, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, F_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, F_OUT));
    uint32_t nb = emc_f(b, F_BATCH), id = emc_f(b, F_ID), od = emc_f(b, F_OD), n, o, i;
    uint32_t nm = emc_f(b, F_PERCH) ? od : 1u;
    int32_t in_off = emc_fi(b, F_IN_OFF), w_off = emc_fi(b, F_W_OFF), out_off = emc_fi(b, F_OUT_OFF);
    int32_t lo = emc_fi(b, F_MIN), hi = emc_fi(b, F_MAX);
    const uint8_t *bias = b->p + 4 * N_FIELDS, *mul = bias + 4u * od, *sh = mul + 4u * nm;
    const uint8_t *w = sh + 4u * nm;
    int i16 = (emc_f(b, F_FLAGS) & FC_WEIGHTS_I16) != 0u;
#if defined(EMC_USE_DSP) && EMC_USE_DSP
    if (emc_dsp_fully_connected(x))
        return;
#endif
    /* sum (w + w_off)(x + in_off) = sum w (x + in_off) + w_off * sum (x + in_off): the inner loop
     * takes four weight rows per input byte (the last rows of an od % 4 tail repeat row od - 1
     * and are not stored); uint32 sums wrap like TFLM's int32 accumulator. */
    for (n = 0; n < nb; n++) {
        const int8_t *xr = in + (size_t)n * id;
        uint32_t xsum = 0;
        for (i = 0; i < id; i++)
            xsum += (uint32_t)(xr[i] + in_off);
        for (o = 0; o < od; o += 4) {
            uint32_t acc[4] = {0, 0, 0, 0}, r;
            const int8_t *w0 = (const int8_t *)w + (size_t)o * id;
            const int8_t *w1 = (const int8_t *)w + (size_t)(o + 1 < od ? o + 1 : od - 1) * id;
            const int8_t *w2 = (const int8_t *)w + (size_t)(o + 2 < od ? o + 2 : od - 1) * id;
            const int8_t *w3 = (const int8_t *)w + (size_t)(o + 3 < od ? o + 3 : od - 1) * id;
            if (i16)
                for (r = 0; r < 4 && o + r < od; r++)
                    acc[r] = row_sum_i16(w + 2u * (size_t)(o + r) * id, xr, id, in_off);
            else
                for (i = 0; i < id; i++) {
                    int32_t v = xr[i] + in_off;
                    acc[0] += (uint32_t)(w0[i] * v);
                    acc[1] += (uint32_t)(w1[i] * v);
                    acc[2] += (uint32_t)(w2[i] * v);
                    acc[3] += (uint32_t)(w3[i] * v);
                }
            for (r = 0; r < 4 && o + r < od; r++) {
                uint32_t q = emc_f(b, F_PERCH) ? o + r : 0u;
                int32_t v = g_mbqm(g_wrap32((int64_t)(acc[r] + (uint32_t)w_off * xsum +
                                                      (uint32_t)emc_rdi32(bias + 4u * (o + r)))),
                                   emc_rdi32(mul + 4u * q), emc_rdi32(sh + 4u * q));
                out[(size_t)n * od + o + r] = g_clamp8(v + out_off, lo, hi);
            }
        }
    }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)nb * od, EMC_DT_I8);
}

const emc_kernel_t emc_g_fully_connected = {0x4003, 4 * N_FIELDS, "GENERIC_FULLY_CONNECTED", check, run};
