/* Body of GENERIC_CONV2D / GENERIC_DEPTHWISE_CONV2D (see emc/kmodel/layers/generic_conv2d.py):
 * 22 fields, then int32 bias[OC], multiplier[OC], shift[OC], then int8 weights. */
#ifndef EMC_G_CONV_COMMON_H
#define EMC_G_CONV_COMMON_H
#include "g_fixedpoint.h"

enum {
    CF_FLAGS, CF_IN, CF_OUT, CF_IH, CF_IW, CF_IC, CF_OH, CF_OW, CF_OC, CF_KH, CF_KW, CF_SH, CF_SW, CF_DH, CF_DW,
    CF_PT, CF_PL, CF_IN_OFF, CF_OUT_OFF, CF_ACT_MIN, CF_ACT_MAX, CF_DM, CF_N
};

static inline emc_status_t g_conv_check(emc_check_t *c, int depthwise)
{
    const emc_body_t *b = c->b;
    uint32_t i, oc = emc_f(b, CF_OC);
    uint64_t nw;
    const uint8_t *sh;
    for (i = CF_IH; i <= CF_OC; i++)
        if (g_range(c, i, 1, 1 << 16, 0))
            return c->err.status;
    for (i = CF_KH; i <= CF_DW; i++)
        if (g_range(c, i, 1, 64, 0))
            return c->err.status;
    if (g_range(c, CF_PT, 0, 64, 0) || g_range(c, CF_PL, 0, 64, 0) || g_range(c, CF_IN_OFF, -127, 128, 1) ||
        g_range(c, CF_OUT_OFF, -128, 127, 1) || g_range(c, CF_ACT_MIN, -128, 127, 1) ||
        g_range(c, CF_ACT_MAX, emc_fi(b, CF_ACT_MIN), 127, 1))
        return c->err.status;
    if (depthwise && (g_range(c, CF_DM, 1, 1 << 16, 0) || (uint64_t)emc_f(b, CF_IC) * emc_f(b, CF_DM) != oc))
        return emc_fail(c, EMC_E_BODY, CF_DM);
    nw = (uint64_t)oc * emc_f(b, CF_KH) * emc_f(b, CF_KW) * (depthwise ? 1u : emc_f(b, CF_IC));
    if (emc_chk_tail(c, CF_OC, 4 * CF_N, 12u * oc + nw))
        return c->err.status;
    sh = b->p + 4 * CF_N + 8u * oc;
    for (i = 0; i < oc; i++) {
        int32_t s = emc_rdi32(sh + 4u * i);
        if (s < -31 || s > 30)
            return emc_fail(c, EMC_E_BODY, CF_OC);
    }
    if (emc_chk_main(c, CF_IN, emc_f(b, CF_IN), (uint64_t)emc_f(b, CF_IH) * emc_f(b, CF_IW) * emc_f(b, CF_IC)) ||
        emc_chk_main(c, CF_OUT, emc_f(b, CF_OUT), (uint64_t)emc_f(b, CF_OH) * emc_f(b, CF_OW) * oc))
        return c->err.status;
    /* DSP kernels' scratch (ports/cortex_m), counted in every build: conv two int16 im2col
     * columns (+ one natural-order column when IC % 4 != 0) and 18 bytes per output channel (the
     * asm's requantization record, pruned channels' constant output, live flag), depthwise per channel its start
     * accumulator, int16 weights and requantization constants (16 + 2*KH*KW bytes), and a pad row (1 byte) */
    emc_need_cpu_scratch(c, depthwise ? (17u + 2u * (size_t)emc_f(b, CF_KH) * emc_f(b, CF_KW)) * oc
                                      : ((emc_f(b, CF_IC) & 3u) ? 6u : 4u) *
                                                (((size_t)emc_f(b, CF_KH) * emc_f(b, CF_KW) * emc_f(b, CF_IC) + 3u) &
                                                 ~(size_t)3u) +
                                            18u * (size_t)oc);
    emc_set_out(c, 0, emc_f(b, CF_OUT), emc_f(b, CF_OH) * emc_f(b, CF_OW) * oc, EMC_DT_I8);
    c->out.rank = 3;
    c->out.shape[0] = emc_f(b, CF_OH);
    c->out.shape[1] = emc_f(b, CF_OW);
    c->out.shape[2] = oc;
    return EMC_OK;
}

/* The geometry of one layer, unpacked once by every conv / depthwise kernel (portable and DSP). */
typedef struct g_conv {
    const int8_t *in, *w;
    int8_t *out;
    const uint8_t *bias, *mul, *shf; /* int32 [OC] each */
    int32_t ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, in_off, out_off, lo, hi, dm;
} g_conv_t;

/* by value: a local copy whose address is never taken stays in registers even across the int8
 * stores of a kernel (which could alias anything reached through a pointer) */
static inline g_conv_t g_conv_get(const emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    g_conv_t g;
    g.in = (const int8_t *)(x->main + emc_f(b, CF_IN));
    g.out = (int8_t *)(x->main + emc_f(b, CF_OUT));
    g.ih = (int32_t)emc_f(b, CF_IH), g.iw = (int32_t)emc_f(b, CF_IW), g.ic = (int32_t)emc_f(b, CF_IC);
    g.oh = (int32_t)emc_f(b, CF_OH), g.ow = (int32_t)emc_f(b, CF_OW), g.oc = (int32_t)emc_f(b, CF_OC);
    g.kh = (int32_t)emc_f(b, CF_KH), g.kw = (int32_t)emc_f(b, CF_KW), g.sh = (int32_t)emc_f(b, CF_SH);
    g.sw = (int32_t)emc_f(b, CF_SW), g.dh = (int32_t)emc_f(b, CF_DH), g.dw = (int32_t)emc_f(b, CF_DW);
    g.pt = (int32_t)emc_f(b, CF_PT), g.pl = (int32_t)emc_f(b, CF_PL), g.in_off = emc_fi(b, CF_IN_OFF);
    g.out_off = emc_fi(b, CF_OUT_OFF), g.lo = emc_fi(b, CF_ACT_MIN), g.hi = emc_fi(b, CF_ACT_MAX);
    g.dm = (int32_t)emc_f(b, CF_DM);
    g.bias = b->p + 4 * CF_N, g.mul = g.bias + 4u * (uint32_t)g.oc, g.shf = g.mul + 4u * (uint32_t)g.oc;
    g.w = (const int8_t *)(g.shf + 4u * (uint32_t)g.oc);
    return g;
}

/* the per-channel {bias, multiplier, shift} as aligned int32 (rq: 12 * OC bytes of scratch), read
 * once per layer instead of byte by byte per output */
static inline void g_conv_records(const g_conv_t *g, int32_t *rq)
{
    int32_t o;
    for (o = 0; o < g->oc; o++) {
        rq[3 * o] = emc_rdi32(g->bias + 4u * (uint32_t)o);
        rq[3 * o + 1] = emc_rdi32(g->mul + 4u * (uint32_t)o);
        rq[3 * o + 2] = emc_rdi32(g->shf + 4u * (uint32_t)o);
    }
}

/* bias + requantize + clamp of one accumulator; rq = {bias, multiplier, shift} of the channel.
 * The sum wraps modulo 2^32 like TFLM's int32 accumulator (defined behaviour for any file). */
static inline int8_t g_conv_requant(const g_conv_t *g, const int32_t *rq, uint32_t sum)
{
    int32_t acc = g_mbqm(g_wrap32((int64_t)(sum + (uint32_t)rq[0])), rq[1], rq[2]) + g->out_off;
    return g_clamp8(acc, g->lo, g->hi);
}
#endif
