/* Body of GENERIC_AVERAGE_POOL2D / GENERIC_MAX_POOL2D (emc/kmodel/layers/generic_pool2d_common.py). */
#ifndef EMC_G_POOL_COMMON_H
#define EMC_G_POOL_COMMON_H
#include "g_fixedpoint.h"

enum { PF_FLAGS, PF_IN, PF_OUT, PF_IH, PF_IW, PF_C, PF_OH, PF_OW, PF_FH, PF_FW, PF_SH, PF_SW, PF_PT, PF_PL, PF_MIN,
       PF_MAX, PF_N };

static inline emc_status_t g_pool_check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t i;
    for (i = PF_IH; i <= PF_OW; i++)
        if (g_range(c, i, 1, 1 << 16, 0))
            return c->err.status;
    for (i = PF_FH; i <= PF_SW; i++)
        if (g_range(c, i, 1, 4096, 0))
            return c->err.status;
    if (g_range(c, PF_PT, 0, 4096, 0) || g_range(c, PF_PL, 0, 4096, 0) || g_range(c, PF_MIN, -128, 127, 1) ||
        g_range(c, PF_MAX, emc_fi(b, PF_MIN), 127, 1))
        return c->err.status;
    if (emc_chk_main(c, PF_IN, emc_f(b, PF_IN), (uint64_t)emc_f(b, PF_IH) * emc_f(b, PF_IW) * emc_f(b, PF_C)) ||
        emc_chk_main(c, PF_OUT, emc_f(b, PF_OUT), (uint64_t)emc_f(b, PF_OH) * emc_f(b, PF_OW) * emc_f(b, PF_C)))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, PF_OUT), emc_f(b, PF_OH) * emc_f(b, PF_OW) * emc_f(b, PF_C), EMC_DT_I8);
    return EMC_OK;
}

/* Clipped window of output (oy, ox): [y0, y1) x [x0, x1). 64-bit: padding/stride up to 4096. */
static inline void g_pool_window(const emc_body_t *b, int64_t oy, int64_t ox, int64_t *y0, int64_t *y1, int64_t *x0,
                                 int64_t *x1)
{
    int64_t ys = oy * emc_f(b, PF_SH) - (int64_t)emc_f(b, PF_PT), xs = ox * emc_f(b, PF_SW) - (int64_t)emc_f(b, PF_PL);
    int64_t ih = emc_f(b, PF_IH), iw = emc_f(b, PF_IW);
    *y0 = ys < 0 ? 0 : ys;
    *x0 = xs < 0 ? 0 : xs;
    *y1 = ys + (int64_t)emc_f(b, PF_FH) < ih ? ys + (int64_t)emc_f(b, PF_FH) : ih;
    *x1 = xs + (int64_t)emc_f(b, PF_FW) < iw ? xs + (int64_t)emc_f(b, PF_FW) : iw;
}
#endif
