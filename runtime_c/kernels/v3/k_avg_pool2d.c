/* AVERAGE_POOL2D (9): f32 mean over the valid (in-image) taps; the trailing `act` field is
 * ignored exactly as kpu.c ignores it. */
#include "pool_geom.h"

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    if (pool_geom_check(c, 4))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, PG_OUT), emc_f(b, PG_OW) * emc_f(b, PG_OH) * emc_f(b, PG_OC) * 4u, EMC_DT_F32);
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
        const uint8_t *ch = src + (size_t)iw * ih * c * 4u;
        for (oy = 0; oy < oh; oy++)
            for (ox = 0; ox < ow; ox++) {
                float v = 0.0f, n = 0.0f;
                pool_window(b, oy, ox, &y0, &y1, &x0, &x1);
                for (y = y0; y < y1; y++)
                    for (xx = x0; xx < x1; xx++) {
                        v += emc_ldf(ch + 4u * (size_t)(y * iw + xx));
                        n += 1.0f;
                    }
                emc_stf(o, v / (n > 0.0f ? n : 1.0f)); /* empty window: 0 (reference) */
                o += 4;
            }
    }
    emc_out_main(x, emc_f(b, PG_OUT), (size_t)(o - dst), EMC_DT_F32);
}

/* 15 pooling fields + act */
const emc_kernel_t emc_k_avg_pool2d = {9, 4 * (PG_N_FIELDS + 1), "AVERAGE_POOL2D", check, run};
