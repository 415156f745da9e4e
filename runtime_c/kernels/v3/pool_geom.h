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


static inline emc_status_t pool_geom_check(emc_check_t *c, uint32_t elem)
{
    const emc_body_t *b = c->b;
    uint32_t i;
    /* kernel and stride 1..4096, map dims 1..65536 (same limits as the Python reference) */
    for (i = PG_KW; i <= PG_SH; i++)
        if (emc_f(b, i) < 1 || emc_f(b, i) > 4096)
            return emc_fail(c, EMC_E_BODY, i);
    for (i = PG_IW; i <= PG_OH; i++)
        if (i != PG_OC && (emc_f(b, i) < 1 || emc_f(b, i) > 65536))
            return emc_fail(c, EMC_E_BODY, i);
    if (emc_f(b, PG_OC) != emc_f(b, PG_IC))
        return emc_fail(c, EMC_E_BODY, PG_OC);
    if (emc_chk_main(c, PG_IN, emc_f(b, PG_IN), (uint64_t)emc_f(b, PG_IW) * emc_f(b, PG_IH) * emc_f(b, PG_IC) * elem) ||
        emc_chk_main(c, PG_OUT, emc_f(b, PG_OUT), (uint64_t)emc_f(b, PG_OW) * emc_f(b, PG_OH) * emc_f(b, PG_OC) * elem))
        return c->err.status;
    return EMC_OK;
}

/* Window of output (oy, ox) clipped to the image: [y0, y1) x [x0, x1) (may be empty). */
static inline void pool_window(const emc_body_t *b, int64_t oy, int64_t ox, int64_t *y0, int64_t *y1, int64_t *x0,
                               int64_t *x1)
{
    int64_t iw = emc_f(b, PG_IW), ih = emc_f(b, PG_IH);
    int64_t oxs = ox * (int64_t)emc_f(b, PG_SW) - (int64_t)emc_f(b, PG_PW);
    int64_t oys = oy * (int64_t)emc_f(b, PG_SH) - (int64_t)emc_f(b, PG_PH);
    int64_t kw = emc_f(b, PG_KW), kh = emc_f(b, PG_KH);
    *x0 = oxs < 0 ? 0 : oxs;
    *y0 = oys < 0 ? 0 : oys;
    *x1 = oxs + kw < iw ? oxs + kw : iw;
    *y1 = oys + kh < ih ? oys + kh : ih;
}
#endif
