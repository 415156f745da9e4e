/* GENERIC_STRIDED_SLICE (0x401F): TFLM reference StridedSlice of an int8 tensor padded to rank 4;
 * per axis a start, a stride (either sign) and a count, computed at convert time from the begin /
 * end / strides and masks (emc/kmodel/layers/generic_strided_slice.py). */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_D0, F_D1, F_D2, F_D3, F_S0, F_S1, F_S2, F_S3, F_T0, F_T1, F_T2, F_T3, F_N0, F_N1,
       F_N2, F_N3, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t in = 1, out = 1;
    uint32_t a;
    for (a = 0; a < 4; a++) {
        int64_t d = emc_f(b, F_D0 + a), s = emc_f(b, F_S0 + a), t = emc_fi(b, F_T0 + a), n = emc_f(b, F_N0 + a);
        if (g_range(c, F_D0 + a, 1, 1 << 24, 0) || g_range(c, F_T0 + a, -(1 << 24), 1 << 24, 1) ||
            g_range(c, F_N0 + a, 0, 1 << 24, 0))
            return c->err.status;
        if (t == 0 || (n && (s >= d || s + (n - 1) * t < 0 || s + (n - 1) * t >= d)))
            return emc_fail(c, EMC_E_BODY, F_S0 + a);
        in *= (uint64_t)d;
        out *= (uint64_t)n;
    }
    return emc_check_main_io(c, F_IN, in, F_OUT, out, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, F_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, F_OUT)), *o = out;
    int64_t pitch[4], base[4];
    uint32_t a, i0, i1, i2, i3;
    pitch[3] = 1;
    for (a = 3; a > 0; a--)
        pitch[a - 1] = pitch[a] * emc_f(b, F_D0 + a);
    for (a = 0; a < 4; a++)
        base[a] = (int64_t)emc_f(b, F_S0 + a) * pitch[a];
    for (i0 = 0; i0 < emc_f(b, F_N0); i0++)
        for (i1 = 0; i1 < emc_f(b, F_N1); i1++)
            for (i2 = 0; i2 < emc_f(b, F_N2); i2++) {
                int64_t row = base[0] + (int64_t)i0 * emc_fi(b, F_T0) * pitch[0] + base[1] +
                              (int64_t)i1 * emc_fi(b, F_T1) * pitch[1] + base[2] + (int64_t)i2 * emc_fi(b, F_T2) * pitch[2] +
                              base[3];
                for (i3 = 0; i3 < emc_f(b, F_N3); i3++)
                    *o++ = in[row + (int64_t)i3 * emc_fi(b, F_T3)];
            }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)(o - out), EMC_DT_I8);
}

const emc_kernel_t emc_g_strided_slice = {0x401F, 4 * N_FIELDS, "GENERIC_STRIDED_SLICE", check, run};
