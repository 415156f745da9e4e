/* GENERIC_AVERAGE_POOL2D (0x4004): TFLM reference_integer_ops::AveragePool (int8): in-image taps
 * averaged rounding half away from zero; an empty window gives 0 (clamped). */
#include "g_pool_common.h"

static emc_status_t check(emc_check_t *c) { return g_pool_check(c); }

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, PF_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, PF_OUT));
    int64_t oh = emc_f(b, PF_OH), ow = emc_f(b, PF_OW), ch = emc_f(b, PF_C), iw = emc_f(b, PF_IW);
    int64_t oy, ox, c, y, xx, y0, y1, x0, x1;
    for (oy = 0; oy < oh; oy++)
        for (ox = 0; ox < ow; ox++) {
            g_pool_window(b, oy, ox, &y0, &y1, &x0, &x1);
            for (c = 0; c < ch; c++) {
                int64_t acc = 0, n = 0, q;
                for (y = y0; y < y1; y++)
                    for (xx = x0; xx < x1; xx++) {
                        acc += in[(y * iw + xx) * ch + c];
                        n++;
                    }
                if (n == 0)
                    n = 1;
                q = acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n;
                out[(oy * ow + ox) * ch + c] = g_clamp8((int32_t)q, emc_fi(b, PF_MIN), emc_fi(b, PF_MAX));
            }
        }
    emc_out_main(x, emc_f(b, PF_OUT), (size_t)(oh * ow * ch), EMC_DT_I8);
}

const emc_kernel_t emc_g_average_pool2d = {0x4004, 4 * PF_N, "GENERIC_AVERAGE_POOL2D", check, run};
