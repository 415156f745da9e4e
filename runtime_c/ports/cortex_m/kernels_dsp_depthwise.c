/* GENERIC_DEPTHWISE_CONV2D on the Cortex-M DSP extension (bit-exact with
 * kernels/generic/g_depthwise_conv2d.c), depth multiplier 1 (others: portable kernel).
 * NHWC keeps 4 channels in one word: per in-image tap one input word and one weight word,
 * SXTB16 / SXTB16 ROR 8 to halfword pairs, SMLABB / SMLATT into 4 per-channel accumulators.
 * Pixels whose taps are all in the image start from bias + input_offset * sum(weights) (kept in
 * the arena's CPU scratch, 4 bytes per channel) and multiply raw inputs; border pixels add the
 * offset per tap (SADD16) and skip out-of-image taps as the reference does. */
#include "emc_dsp.h"

#if defined(EMC_USE_DSP) && EMC_USE_DSP
#include "../../kernels/generic/g_conv_common.h"

/* One output. mode 2: every channel dsp_fast_chan (SMMULR, asm), 1: activation range
 * [-128, 127] and every shift <= 0 (exact SMLAL form, asm), 0: exact general form in C. */
static inline __attribute__((always_inline)) void out1(int8_t *po, int32_t acc, const uint8_t *mul, int32_t oc4,
                                                       int32_t out_off, int32_t lo, int32_t hi, int mode)
{
    if (mode == 2)
        dsp_epi1_fast(acc, mul, po, oc4, out_off);
    else if (mode == 1)
        dsp_epi1_exact(acc, mul, po, oc4, out_off);
    else
        *po = (int8_t)dsp_clamp32(dsp_mbqm(acc, dsp_ldi32(mul), dsp_ldi32(mul + oc4)) + out_off, lo, hi);
}

/* acc += w * x for the 4 channels of one word of input and of weights */
#define DW_TAP(V, W)                                                                                                 \
    do {                                                                                                             \
        uint32_t v_ = (V), w_ = (W), xa_ = __sxtb16(v_), xb_ = dsp_sxtb16_ror8(v_);                                  \
        uint32_t wa_ = __sxtb16(w_), wb_ = dsp_sxtb16_ror8(w_);                                                      \
        a0 = __smlabb(xa_, wa_, a0);                                                                                 \
        a2 = __smlatt(xa_, wa_, a2);                                                                                 \
        a1 = __smlabb(xb_, wb_, a1);                                                                                 \
        a3 = __smlatt(xb_, wb_, a3);                                                                                 \
    } while (0)

typedef struct dw_args {
    const int8_t *in, *w;
    int8_t *out;
    const uint8_t *bias, *mul, *shf;
    const int32_t *beff;
    int32_t ih, iw, ch, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, in_off, out_off, lo, hi;
} dw_args_t;

static inline __attribute__((always_inline)) void dw_layer(const dw_args_t *a, int mode)
{
    int32_t ih = a->ih, iw = a->iw, ch = a->ch, kh = a->kh, kw = a->kw, dh = a->dh, dw = a->dw;
    int32_t out_off = a->out_off, lo = a->lo, hi = a->hi, in_off = a->in_off;
    size_t rstep = (size_t)dh * iw * ch, cstep = (size_t)dw * ch, wrow = (size_t)kw * ch;
    uint32_t off2 = ((uint32_t)in_off & 0xFFFFu) * 0x10001u;
    int32_t oy, ox, c, ky, kx, j, g4 = ch & ~3, oc4 = 4 * ch;
    int k33 = kh == 3 && kw == 3;
    for (oy = 0; oy < a->oh; oy++) {
        int32_t y0 = oy * a->sh - a->pt, ky0 = 0, ky1 = kh;
        while (ky0 < kh && y0 + dh * ky0 < 0)
            ky0++;
        while (ky1 > ky0 && y0 + dh * (ky1 - 1) >= ih)
            ky1--;
        for (ox = 0; ox < a->ow; ox++) {
            int32_t x0 = ox * a->sw - a->pl, kx0 = 0, kx1 = kw;
            int8_t *po = a->out + ((size_t)oy * a->ow + ox) * ch;
            const int8_t *pin, *pw;
            while (kx0 < kw && x0 + dw * kx0 < 0)
                kx0++;
            while (kx1 > kx0 && x0 + dw * (kx1 - 1) >= iw)
                kx1--;
            pin = a->in + ((size_t)(y0 + dh * ky0) * iw + (x0 + dw * kx0)) * ch;
            pw = a->w + ((size_t)ky0 * kw + kx0) * ch;
            if (ky0 == 0 && ky1 == kh && kx0 == 0 && kx1 == kw) {
                /* interior: offset folded into beff, raw inputs */
                if (k33) {
                    const int8_t *r0 = pin, *r1 = pin + rstep, *r2 = r1 + rstep, *tw = pw;
                    for (c = 0; c < g4; c += 4, r0 += 4, r1 += 4, r2 += 4, tw += 4) {
                        int32_t a0 = a->beff[c], a1 = a->beff[c + 1], a2 = a->beff[c + 2], a3 = a->beff[c + 3];
                        DW_TAP(dsp_ld32(r0), dsp_ld32(tw));
                        DW_TAP(dsp_ld32(r0 + cstep), dsp_ld32(tw + ch));
                        DW_TAP(dsp_ld32(r0 + 2 * cstep), dsp_ld32(tw + 2 * ch));
                        DW_TAP(dsp_ld32(r1), dsp_ld32(tw + 3 * ch));
                        DW_TAP(dsp_ld32(r1 + cstep), dsp_ld32(tw + 4 * ch));
                        DW_TAP(dsp_ld32(r1 + 2 * cstep), dsp_ld32(tw + 5 * ch));
                        DW_TAP(dsp_ld32(r2), dsp_ld32(tw + 6 * ch));
                        DW_TAP(dsp_ld32(r2 + cstep), dsp_ld32(tw + 7 * ch));
                        DW_TAP(dsp_ld32(r2 + 2 * cstep), dsp_ld32(tw + 8 * ch));
                        out1(po + c, a0, a->mul + 4u * c, oc4, out_off, lo, hi, mode);
                        out1(po + c + 1, a1, a->mul + 4u * c + 4u, oc4, out_off, lo, hi, mode);
                        out1(po + c + 2, a2, a->mul + 4u * c + 8u, oc4, out_off, lo, hi, mode);
                        out1(po + c + 3, a3, a->mul + 4u * c + 12u, oc4, out_off, lo, hi, mode);
                    }
                } else {
                    for (c = 0; c < g4; c += 4) {
                        int32_t a0 = a->beff[c], a1 = a->beff[c + 1], a2 = a->beff[c + 2], a3 = a->beff[c + 3];
                        const int8_t *ri = pin + c, *rw = pw + c;
                        for (ky = 0; ky < kh; ky++, ri += rstep) {
                            const int8_t *ti = ri;
                            for (kx = 0; kx < kw; kx++, ti += cstep, rw += ch)
                                DW_TAP(dsp_ld32(ti), dsp_ld32(rw));
                        }
                        out1(po + c, a0, a->mul + 4u * c, oc4, out_off, lo, hi, mode);
                        out1(po + c + 1, a1, a->mul + 4u * c + 4u, oc4, out_off, lo, hi, mode);
                        out1(po + c + 2, a2, a->mul + 4u * c + 8u, oc4, out_off, lo, hi, mode);
                        out1(po + c + 3, a3, a->mul + 4u * c + 12u, oc4, out_off, lo, hi, mode);
                    }
                }
            } else {
                for (c = 0; c < g4; c += 4) {
                    int32_t a0 = dsp_ldi32(a->bias + 4u * c), a1 = dsp_ldi32(a->bias + 4u * c + 4u);
                    int32_t a2 = dsp_ldi32(a->bias + 4u * c + 8u), a3 = dsp_ldi32(a->bias + 4u * c + 12u);
                    const int8_t *ri = pin + c, *rw = pw + c;
                    for (ky = ky0; ky < ky1; ky++, ri += rstep, rw += wrow) {
                        const int8_t *ti = ri, *tw = rw;
                        for (kx = kx0; kx < kx1; kx++, ti += cstep, tw += ch) {
                            uint32_t v = dsp_ld32(ti), wv = dsp_ld32(tw);
                            uint32_t xa = __sadd16(__sxtb16(v), off2), xb = __sadd16(dsp_sxtb16_ror8(v), off2);
                            uint32_t wa = __sxtb16(wv), wb = dsp_sxtb16_ror8(wv);
                            a0 = __smlabb(xa, wa, a0);
                            a2 = __smlatt(xa, wa, a2);
                            a1 = __smlabb(xb, wb, a1);
                            a3 = __smlatt(xb, wb, a3);
                        }
                    }
                    out1(po + c, a0, a->mul + 4u * c, oc4, out_off, lo, hi, mode);
                    out1(po + c + 1, a1, a->mul + 4u * c + 4u, oc4, out_off, lo, hi, mode);
                    out1(po + c + 2, a2, a->mul + 4u * c + 8u, oc4, out_off, lo, hi, mode);
                    out1(po + c + 3, a3, a->mul + 4u * c + 12u, oc4, out_off, lo, hi, mode);
                }
            }
            for (c = g4; c < ch; c++) {
                int32_t acc = dsp_ldi32(a->bias + 4u * c);
                const int8_t *ri = pin + c, *rw = pw + c;
                for (ky = ky0; ky < ky1; ky++, ri += rstep, rw += wrow)
                    for (j = 0; j < kx1 - kx0; j++)
                        acc = (int32_t)((uint32_t)acc + (uint32_t)(rw[(size_t)j * ch] * (ri[(size_t)j * cstep] + in_off)));
                out1(po + c, acc, a->mul + 4u * c, oc4, out_off, lo, hi, mode);
            }
        }
    }
}

int emc_dsp_depthwise_conv2d(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    dw_args_t a;
    int32_t o, j, ntap, oc = (int32_t)emc_f(b, CF_OC);
    int32_t *beff = (int32_t *)(void *)x->m->scratch;
    uint32_t bound;
    int fast;

    if (emc_f(b, CF_DM) != 1u || (size_t)oc * 4u > x->m->scratch_size)
        return 0;
    a.in = (const int8_t *)(x->main + emc_f(b, CF_IN));
    a.out = (int8_t *)(x->main + emc_f(b, CF_OUT));
    a.ih = (int32_t)emc_f(b, CF_IH), a.iw = (int32_t)emc_f(b, CF_IW), a.ch = oc;
    a.oh = (int32_t)emc_f(b, CF_OH), a.ow = (int32_t)emc_f(b, CF_OW);
    a.kh = (int32_t)emc_f(b, CF_KH), a.kw = (int32_t)emc_f(b, CF_KW), a.sh = (int32_t)emc_f(b, CF_SH);
    a.sw = (int32_t)emc_f(b, CF_SW), a.dh = (int32_t)emc_f(b, CF_DH), a.dw = (int32_t)emc_f(b, CF_DW);
    a.pt = (int32_t)emc_f(b, CF_PT), a.pl = (int32_t)emc_f(b, CF_PL), a.in_off = emc_fi(b, CF_IN_OFF);
    a.out_off = emc_fi(b, CF_OUT_OFF), a.lo = emc_fi(b, CF_ACT_MIN), a.hi = emc_fi(b, CF_ACT_MAX);
    a.bias = b->p + 4 * CF_N, a.mul = a.bias + 4u * (uint32_t)oc, a.shf = a.mul + 4u * (uint32_t)oc;
    a.w = (const int8_t *)(a.shf + 4u * (uint32_t)oc);
    a.beff = beff;
    ntap = a.kh * a.kw;
    for (o = 0; o < oc; o++)
        if (!dsp_rq_exact(dsp_ldi32(a.mul + 4u * o), dsp_ldi32(a.shf + 4u * o)))
            return 0;
    /* bias + input offset * (sum of the channel's weights): the accumulator start of a pixel
     * whose taps are all inside the image (then sum w*(x+off) = that + sum w*x) */
    bound = dsp_fast_bound((uint64_t)ntap * 32640u); /* |x + in_off| <= 255, |w| <= 128 */
    fast = a.lo == -128 && a.hi == 127 && bound != 0;
    for (o = 0; o < oc; o++) {
        int32_t sw8 = 0, bv = dsp_ldi32(a.bias + 4u * o);
        for (j = 0; j < ntap; j++)
            sw8 += a.w[(size_t)j * oc + o];
        beff[o] = (int32_t)((uint32_t)bv + (uint32_t)(sw8 * a.in_off));
        if (!dsp_fast_chan(bv, dsp_ldi32(a.shf + 4u * o), bound))
            fast = 0;
    }
    for (o = 0; o < oc; o++)
        if (dsp_ldi32(a.shf + 4u * o) > 0)
            break;
    if (fast)
        dw_layer(&a, 2);
    else if (a.lo == -128 && a.hi == 127 && o == oc)
        dw_layer(&a, 1);
    else
        dw_layer(&a, 0);
    emc_out_main(x, emc_f(b, CF_OUT), (size_t)a.oh * a.ow * oc, EMC_DT_I8);
    return 1;
}
#else
typedef int emc_dsp_depthwise_conv2d_unused; /* ISO C: no empty translation unit */
#endif
