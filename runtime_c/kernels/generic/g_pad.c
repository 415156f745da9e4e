/* GENERIC_PAD (0x400E): TFLM reference Pad (int8, 4D): the pad value outside the input box, the
 * input inside (emc/kmodel/layers/generic_pad.py). */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_D0, F_D1, F_D2, F_D3, F_B0, F_B1, F_B2, F_B3, F_A0, F_A1, F_A2, F_A3, F_VALUE,
       N_FIELDS };

static uint32_t out_dim(const emc_body_t *b, uint32_t i)
{
    return emc_f(b, F_D0 + i) + emc_f(b, F_B0 + i) + emc_f(b, F_A0 + i);
}

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t nin = 1, nout = 1;
    uint32_t i;
    for (i = 0; i < 4; i++)
        if (g_range(c, F_D0 + i, 1, 1 << 24, 0) || g_range(c, F_B0 + i, 0, 1 << 16, 0) ||
            g_range(c, F_A0 + i, 0, 1 << 16, 0))
            return c->err.status;
    if (g_range(c, F_VALUE, -128, 127, 1))
        return c->err.status;
    for (i = 0; i < 4; i++) {
        nin *= emc_f(b, F_D0 + i);
        nout *= out_dim(b, i);
        if (nout > (1u << 26))
            return emc_fail(c, EMC_E_BODY, F_A0);
    }
    return emc_check_main_io(c, F_IN, nin, F_OUT, nout, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, F_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, F_OUT));
    uint32_t o[4], d[4], lo[4], i0, i1, i2, i3;
    int8_t value = (int8_t)emc_fi(b, F_VALUE);
    size_t n = 0;
    for (i0 = 0; i0 < 4; i0++) {
        o[i0] = out_dim(b, i0);
        d[i0] = emc_f(b, F_D0 + i0);
        lo[i0] = emc_f(b, F_B0 + i0);
    }
    for (i0 = 0; i0 < o[0]; i0++)
        for (i1 = 0; i1 < o[1]; i1++)
            for (i2 = 0; i2 < o[2]; i2++)
                for (i3 = 0; i3 < o[3]; i3++) {
                    uint32_t s0 = i0 - lo[0], s1 = i1 - lo[1], s2 = i2 - lo[2], s3 = i3 - lo[3];
                    /* unsigned wrap makes indices below the box huge: one compare per axis */
                    out[n++] = (s0 < d[0] && s1 < d[1] && s2 < d[2] && s3 < d[3])
                                   ? in[((size_t)(s0 * d[1] + s1) * d[2] + s2) * d[3] + s3]
                                   : value;
                }
    emc_out_main(x, emc_f(b, F_OUT), n, EMC_DT_I8);
}

const emc_kernel_t emc_g_pad = {0x400E, 4 * N_FIELDS, "GENERIC_PAD", check, run};
