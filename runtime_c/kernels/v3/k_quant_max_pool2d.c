/* QUANTIZED_MAX_POOL2D (8): planar u8 max over the window clipped to the image, starting from 0
 * (kpu.c kpu_quantized_max_pool2d). */
#include "pool_geom.h"

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    if (pool_geom_check(c, 1))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, PG_OUT), emc_f(b, PG_OW) * emc_f(b, PG_OH) * emc_f(b, PG_OC), EMC_DT_U8);
    c->out.rank = 3;
    c->out.shape[0] = emc_f(b, PG_OC);
    c->out.shape[1] = emc_f(b, PG_OH);
    c->out.shape[2] = emc_f(b, PG_OW);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, PG_IN);
    uint8_t *dst = x->main + emc_f(b, PG_OUT), *o = dst;
    int64_t iw = emc_f(b, PG_IW), ih = emc_f(b, PG_IH);
    int64_t ow = emc_f(b, PG_OW), oh = emc_f(b, PG_OH), oc = emc_f(b, PG_OC);
    int64_t c, oy, ox, y, xx, y0, y1, x0, x1;
    for (c = 0; c < oc; c++) {
        const uint8_t *ch = src + (size_t)iw * ih * c;
        for (oy = 0; oy < oh; oy++)
            for (ox = 0; ox < ow; ox++) {
                uint8_t v = 0;
                pool_window(b, oy, ox, &y0, &y1, &x0, &x1);
                for (y = y0; y < y1; y++)
                    for (xx = x0; xx < x1; xx++)
                        if (ch[y * iw + xx] > v)
                            v = ch[y * iw + xx];
                *o++ = v;
            }
    }
    emc_out_main(x, emc_f(b, PG_OUT), (size_t)(o - dst), EMC_DT_U8);
}

const emc_kernel_t emc_k_quant_max_pool2d = {8, 4 * PG_N_FIELDS, "QUANTIZED_MAX_POOL2D", check, run};
