/* GENERIC_MAX_POOL2D (0x4005): TFLM reference_integer_ops::MaxPool (int8). */
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
                int32_t m = -128;
                for (y = y0; y < y1; y++)
                    for (xx = x0; xx < x1; xx++)
                        if (in[(y * iw + xx) * ch + c] > m)
                            m = in[(y * iw + xx) * ch + c];
                out[(oy * ow + ox) * ch + c] = g_clamp8(m, emc_fi(b, PF_MIN), emc_fi(b, PF_MAX));
            }
        }
    emc_out_main(x, emc_f(b, PF_OUT), (size_t)(oh * ow * ch), EMC_DT_I8);
}

const emc_kernel_t emc_g_max_pool2d = {0x4005, 4 * PF_N, "GENERIC_MAX_POOL2D", check, run};
