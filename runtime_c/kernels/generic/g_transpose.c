/* GENERIC_TRANSPOSE (0x4014): TFLM reference Transpose (int8, 4D): output axis k walks input axis
 * perm[k]; the output is written in raster order (emc/kmodel/layers/generic_transpose.py). */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_D0, F_D1, F_D2, F_D3, F_P0, F_P1, F_P2, F_P3, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t n = 1;
    uint32_t i, seen = 0;
    for (i = 0; i < 4; i++) {
        if (g_range(c, F_D0 + i, 1, 1 << 24, 0) || g_range(c, F_P0 + i, 0, 3, 0))
            return c->err.status;
        seen |= 1u << emc_f(b, F_P0 + i);
        n *= emc_f(b, F_D0 + i);
    }
    if (seen != 15u)
        return emc_fail(c, EMC_E_BODY, F_P0);
    return emc_check_main_io(c, F_IN, n, F_OUT, n, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, F_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, F_OUT));
    size_t stride[4], s[4], n = 0;
    uint32_t d[4], i, i0, i1, i2, i3;
    stride[3] = 1;
    for (i = 3; i > 0; i--)
        stride[i - 1] = stride[i] * emc_f(b, F_D0 + i);
    for (i = 0; i < 4; i++) {           /* output axis i: input axis perm[i] */
        d[i] = emc_f(b, F_D0 + emc_f(b, F_P0 + i));
        s[i] = stride[emc_f(b, F_P0 + i)];
    }
    for (i0 = 0; i0 < d[0]; i0++)
        for (i1 = 0; i1 < d[1]; i1++)
            for (i2 = 0; i2 < d[2]; i2++)
                for (i3 = 0; i3 < d[3]; i3++)
                    out[n++] = in[i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3]];
    emc_out_main(x, emc_f(b, F_OUT), n, EMC_DT_I8);
}

const emc_kernel_t emc_g_transpose = {0x4014, 4 * N_FIELDS, "GENERIC_TRANSPOSE", check, run};
