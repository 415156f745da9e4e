/* Body shared by the int8 element-wise layers with broadcasting (GENERIC_MUL, GENERIC_BROADCAST_ADD;
 * emc/kmodel/layers/generic_broadcast.py): out dims[4], per-operand element strides[4] (0 along a
 * broadcast axis), operand B possibly a constant in the body after the fixed fields. The output
 * is visited in raster order, as TFLM's Broadcast*6DSlow does. */
#ifndef EMC_G_BROADCAST_H
#define EMC_G_BROADCAST_H
#include "g_fixedpoint.h"

enum { BF_FLAGS, BF_A, BF_B, BF_OUT, BF_D0, BF_D1, BF_D2, BF_D3, BF_AS0, BF_AS1, BF_AS2, BF_AS3, BF_BS0, BF_BS1,
       BF_BS2, BF_BS3, BF_B_CONST, BF_B_COUNT, BF_N };

/* elements an operand's strides reach */
static inline uint64_t g_bcast_extent(const emc_body_t *b, uint32_t stride0)
{
    uint64_t e = 1;
    uint32_t i;
    for (i = 0; i < 4; i++)
        e += (uint64_t)(emc_f(b, BF_D0 + i) - 1) * emc_f(b, stride0 + i);
    return e;
}

static inline uint64_t g_bcast_count(const emc_body_t *b)
{
    return (uint64_t)emc_f(b, BF_D0) * emc_f(b, BF_D1) * emc_f(b, BF_D2) * emc_f(b, BF_D3);
}

/* the broadcast fields; n_fields: the layer's whole fixed part (the constant follows it) */
static inline emc_status_t g_bcast_check(emc_check_t *c, uint32_t n_fields)
{
    const emc_body_t *b = c->b;
    uint32_t i;
    uint64_t n;
    for (i = 0; i < 4; i++)
        if (g_range(c, BF_D0 + i, 1, 1 << 24, 0) || g_range(c, BF_AS0 + i, 0, 1 << 24, 0) ||
            g_range(c, BF_BS0 + i, 0, 1 << 24, 0))
            return c->err.status;
    if (g_range(c, BF_B_CONST, 0, 1, 0) || g_range(c, BF_B_COUNT, 1, 1 << 24, 0))
        return c->err.status;
    n = g_bcast_count(b);
    if (n > (1u << 26))
        return emc_fail(c, EMC_E_BODY, BF_D0);
    if (emc_chk_main(c, BF_A, emc_f(b, BF_A), g_bcast_extent(b, BF_AS0)) ||
        emc_chk_main(c, BF_OUT, emc_f(b, BF_OUT), n))
        return c->err.status;
    if (emc_f(b, BF_B_CONST)) {
        if (g_bcast_extent(b, BF_BS0) > emc_f(b, BF_B_COUNT))
            return emc_fail(c, EMC_E_BODY, BF_B_COUNT);
        if (emc_chk_tail(c, BF_B_COUNT, 4u * n_fields, emc_f(b, BF_B_COUNT)))
            return c->err.status;
    } else if (emc_chk_main(c, BF_B, emc_f(b, BF_B), g_bcast_extent(b, BF_BS0))) {
        return c->err.status;
    }
    emc_set_out(c, 0, emc_f(b, BF_OUT), (uint32_t)n, EMC_DT_I8);
    return EMC_OK;
}

/* out[...] = fn(body, a, b) over the output in raster order */
static inline void g_bcast_run(emc_exec_t *x, uint32_t n_fields, int8_t (*fn)(const emc_body_t *, int32_t, int32_t))
{
    const emc_body_t *b = x->b;
    const int8_t *pa = (const int8_t *)(x->main + emc_f(b, BF_A));
    const int8_t *pb = emc_f(b, BF_B_CONST) ? (const int8_t *)(b->p + 4u * n_fields)
                                            : (const int8_t *)(x->main + emc_f(b, BF_B));
    int8_t *po = (int8_t *)(x->main + emc_f(b, BF_OUT));
    uint32_t d[4], sa[4], sb[4], i0, i1, i2, i3;
    size_t n = 0;
    for (i0 = 0; i0 < 4; i0++) {
        d[i0] = emc_f(b, BF_D0 + i0);
        sa[i0] = emc_f(b, BF_AS0 + i0);
        sb[i0] = emc_f(b, BF_BS0 + i0);
    }
    for (i0 = 0; i0 < d[0]; i0++)
        for (i1 = 0; i1 < d[1]; i1++)
            for (i2 = 0; i2 < d[2]; i2++)
                for (i3 = 0; i3 < d[3]; i3++) {
                    size_t oa = (size_t)i0 * sa[0] + (size_t)i1 * sa[1] + (size_t)i2 * sa[2] + (size_t)i3 * sa[3];
                    size_t ob = (size_t)i0 * sb[0] + (size_t)i1 * sb[1] + (size_t)i2 * sb[2] + (size_t)i3 * sb[3];
                    po[n++] = fn(b, pa[oa], pb[ob]);
                }
    emc_out_main(x, emc_f(b, BF_OUT), n, EMC_DT_I8);
}
#endif
