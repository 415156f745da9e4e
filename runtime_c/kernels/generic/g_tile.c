/* GENERIC_TILE (0x4019): TFLite reference Tile (int8, 4D): output element (o0..o3) copies input
 * element (o0 % d0, .., o3 % d3); the output is written in raster order
 * (emc/kmodel/layers/generic_tile.py). */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_D0, F_D1, F_D2, F_D3, F_M0, F_M1, F_M2, F_M3, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t n = 1, o = 1;
    uint32_t i;
    for (i = 0; i < 4; i++) {
        if (g_range(c, F_D0 + i, 1, 1 << 24, 0) || g_range(c, F_M0 + i, 1, 1 << 24, 0))
            return c->err.status;
        n *= emc_f(b, F_D0 + i);
        o *= (uint64_t)emc_f(b, F_D0 + i) * emc_f(b, F_M0 + i);
        if (o > (1u << 26))
            return emc_fail(c, EMC_E_BODY, F_M0 + i);
    }
    return emc_check_main_io(c, F_IN, n, F_OUT, o, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, F_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, F_OUT));
    size_t stride[4], n = 0;
    uint32_t d[4], od[4], i, o0, o1, o2, o3;
    for (i = 0; i < 4; i++) {
        d[i] = emc_f(b, F_D0 + i);
        od[i] = d[i] * emc_f(b, F_M0 + i);
    }
    stride[3] = 1;
    for (i = 3; i > 0; i--)
        stride[i - 1] = stride[i] * d[i];
    for (o0 = 0; o0 < od[0]; o0++)
        for (o1 = 0; o1 < od[1]; o1++)
            for (o2 = 0; o2 < od[2]; o2++) {
                const int8_t *row = in + (o0 % d[0]) * stride[0] + (o1 % d[1]) * stride[1] + (o2 % d[2]) * stride[2];
                for (o3 = 0; o3 < od[3]; o3 += d[3]) {     /* whole input rows, once per multiple */
                    memcpy(out + n, row, d[3]);
                    n += d[3];
                }
            }
    emc_out_main(x, emc_f(b, F_OUT), n, EMC_DT_I8);
}

const emc_kernel_t emc_g_tile = {0x4019, 4 * N_FIELDS, "GENERIC_TILE", check, run};
