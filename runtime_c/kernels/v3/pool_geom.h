/* Shared validation of the 15-field pooling body used by QUANTIZED_MAX_POOL2D (8) and
 * AVERAGE_POOL2D (9): flags, in, out, in_shape{w,h,c}, out_shape{w,h,c}, kernel w/h,
 * stride w/h, padding w/h. */
#ifndef EMC_POOL_GEOM_H
#define EMC_POOL_GEOM_H
#include "emc_internal.h"

enum {
    PG_FLAGS, PG_IN, PG_OUT, PG_IW, PG_IH, PG_IC, PG_OW, PG_OH, PG_OC, PG_KW, PG_KH, PG_SW, PG_SH,
    PG_PW, PG_PH, PG_N_FIELDS
};

/* Keeps every index computation inside int32: dims, kernel, stride, padding < 2^15. */
#define PG_LIMIT 0x8000u

static inline emc_status_t pool_geom_check(emc_check_t *c, uint32_t elem)
{
    const emc_body_t *b = c->b;
    uint32_t i;
    for (i = PG_IW; i <= PG_PH; i++)
        if (emc_f(b, i) >= PG_LIMIT)
            return emc_fail(c, EMC_E_BODY, i);
    /* kpu.c walks out_shape.channels input channels */
    if (emc_f(b, PG_OC) > emc_f(b, PG_IC))
        return emc_fail(c, EMC_E_BODY, PG_OC);
    if (emc_chk_main(c, PG_IN, emc_f(b, PG_IN), (uint64_t)emc_f(b, PG_IW) * emc_f(b, PG_IH) * emc_f(b, PG_IC) * elem) ||
        emc_chk_main(c, PG_OUT, emc_f(b, PG_OUT), (uint64_t)emc_f(b, PG_OW) * emc_f(b, PG_OH) * emc_f(b, PG_OC) * elem))
        return c->err.status;
    return EMC_OK;
}

/* Window of output (oy, ox) clipped to the image: [y0, y1) x [x0, x1) (may be empty). */
static inline void pool_window(const emc_body_t *b, int32_t oy, int32_t ox, int32_t *y0, int32_t *y1, int32_t *x0,
                               int32_t *x1)
{
    int32_t iw = (int32_t)emc_f(b, PG_IW), ih = (int32_t)emc_f(b, PG_IH);
    int32_t oxs = ox * (int32_t)emc_f(b, PG_SW) - (int32_t)emc_f(b, PG_PW);
    int32_t oys = oy * (int32_t)emc_f(b, PG_SH) - (int32_t)emc_f(b, PG_PH);
    int32_t kw = (int32_t)emc_f(b, PG_KW), kh = (int32_t)emc_f(b, PG_KH);
    *x0 = oxs < 0 ? 0 : oxs;
    *y0 = oys < 0 ? 0 : oys;
    *x1 = oxs + kw < iw ? oxs + kw : iw;
    *y1 = oys + kh < ih ? oys + kh : ih;
}
#endif
