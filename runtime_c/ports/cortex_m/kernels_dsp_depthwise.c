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

/* 4 channels' outputs from their accumulators. */
static inline __attribute__((always_inline)) void finish4(int8_t *po, const int32_t a[4], const uint8_t *mul,
                                                          const uint8_t *shf, int32_t out_off, int32_t lo, int32_t hi)
{
    int j;
    for (j = 0; j < 4; j++)
        po[j] = (int8_t)dsp_clamp32(dsp_mbqm(a[j], dsp_ldi32(mul + 4 * j), dsp_ldi32(shf + 4 * j)) + out_off, lo, hi);
}

int emc_dsp_depthwise_conv2d(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, CF_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, CF_OUT));
    int32_t ih = (int32_t)emc_f(b, CF_IH), iw = (int32_t)emc_f(b, CF_IW), ch = (int32_t)emc_f(b, CF_IC);
    int32_t oh = (int32_t)emc_f(b, CF_OH), ow = (int32_t)emc_f(b, CF_OW), oc = (int32_t)emc_f(b, CF_OC);
    int32_t kh = (int32_t)emc_f(b, CF_KH), kw = (int32_t)emc_f(b, CF_KW), sh = (int32_t)emc_f(b, CF_SH);
    int32_t sw = (int32_t)emc_f(b, CF_SW), dh = (int32_t)emc_f(b, CF_DH), dw = (int32_t)emc_f(b, CF_DW);
    int32_t pt = (int32_t)emc_f(b, CF_PT), pl = (int32_t)emc_f(b, CF_PL), in_off = emc_fi(b, CF_IN_OFF);
    int32_t out_off = emc_fi(b, CF_OUT_OFF), lo = emc_fi(b, CF_ACT_MIN), hi = emc_fi(b, CF_ACT_MAX);
    const uint8_t *bias = b->p + 4 * CF_N, *mul = bias + 4u * (uint32_t)oc, *shf = mul + 4u * (uint32_t)oc;
    const int8_t *w = (const int8_t *)(shf + 4u * (uint32_t)oc);
    uint32_t off2 = ((uint32_t)in_off & 0xFFFFu) * 0x10001u;
    size_t rstep = (size_t)dh * iw * ch, cstep = (size_t)dw * ch, wrow = (size_t)kw * ch;
    int32_t oy, ox, c, ky, kx, j, o, ntap = kh * kw;
    int32_t *beff = (int32_t *)(void *)x->m->scratch, acc[4];

    if (emc_f(b, CF_DM) != 1u || (size_t)oc * 4u > x->m->scratch_size)
        return 0;
    for (o = 0; o < oc; o++)
        if (!dsp_rq_exact(dsp_ldi32(mul + 4u * o), dsp_ldi32(shf + 4u * o)))
            return 0;
    /* bias + input offset * (sum of the channel's weights): the accumulator start of a pixel
     * whose taps are all inside the image (then sum w*(x+off) = that + sum w*x) */
    for (o = 0; o < oc; o++) {
        int32_t sw8 = 0;
        for (j = 0; j < ntap; j++)
            sw8 += w[(size_t)j * oc + o];
        beff[o] = (int32_t)((uint32_t)dsp_ldi32(bias + 4u * o) + (uint32_t)(sw8 * in_off));
    }
    for (oy = 0; oy < oh; oy++) {
        int32_t y0 = oy * sh - pt, ky0 = 0, ky1 = kh;
        while (ky0 < kh && y0 + dh * ky0 < 0)
            ky0++;
        while (ky1 > ky0 && y0 + dh * (ky1 - 1) >= ih)
            ky1--;
        for (ox = 0; ox < ow; ox++) {
            int32_t x0 = ox * sw - pl, kx0 = 0, kx1 = kw;
            int8_t *po = out + ((size_t)oy * ow + ox) * oc;
            const int8_t *pin, *pw;
            while (kx0 < kw && x0 + dw * kx0 < 0)
                kx0++;
            while (kx1 > kx0 && x0 + dw * (kx1 - 1) >= iw)
                kx1--;
            pin = in + ((size_t)(y0 + dh * ky0) * iw + (x0 + dw * kx0)) * ch;
            pw = w + ((size_t)ky0 * kw + kx0) * ch;
            if (ky0 == 0 && ky1 == kh && kx0 == 0 && kx1 == kw) {
                /* interior: offset folded into beff; per tap 2 LDR, 4 SXTB16, 4 SMLAxy */
                for (c = 0; c + 4 <= ch; c += 4) {
                    int32_t a0 = beff[c], a1 = beff[c + 1], a2 = beff[c + 2], a3 = beff[c + 3];
                    const int8_t *ri = pin + c, *rw = pw + c;
                    for (ky = 0; ky < kh; ky++, ri += rstep) {
                        const int8_t *ti = ri;
                        for (kx = 0; kx < kw; kx++, ti += cstep, rw += ch) {
                            uint32_t v = dsp_ld32(ti), wv = dsp_ld32(rw);
                            uint32_t xa = __sxtb16(v), xb = dsp_sxtb16_ror8(v);
                            uint32_t wa = __sxtb16(wv), wb = dsp_sxtb16_ror8(wv);
                            a0 = __smlabb(xa, wa, a0);
                            a2 = __smlatt(xa, wa, a2);
                            a1 = __smlabb(xb, wb, a1);
                            a3 = __smlatt(xb, wb, a3);
                        }
                    }
                    acc[0] = a0;
                    acc[1] = a1;
                    acc[2] = a2;
                    acc[3] = a3;
                    finish4(po + c, acc, mul + 4u * c, shf + 4u * c, out_off, lo, hi);
                }
            } else {
                for (c = 0; c + 4 <= ch; c += 4) {
                    int32_t a0 = dsp_ldi32(bias + 4u * c), a1 = dsp_ldi32(bias + 4u * c + 4u);
                    int32_t a2 = dsp_ldi32(bias + 4u * c + 8u), a3 = dsp_ldi32(bias + 4u * c + 12u);
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
                    acc[0] = a0;
                    acc[1] = a1;
                    acc[2] = a2;
                    acc[3] = a3;
                    finish4(po + c, acc, mul + 4u * c, shf + 4u * c, out_off, lo, hi);
                }
            }
            for (; c < ch; c++) {
                int32_t a = dsp_ldi32(bias + 4u * c);
                const int8_t *ri = pin + c, *rw = pw + c;
                for (ky = ky0; ky < ky1; ky++, ri += rstep, rw += wrow)
                    for (j = 0; j < kx1 - kx0; j++)
                        a = (int32_t)((uint32_t)a + (uint32_t)(rw[(size_t)j * ch] * (ri[(size_t)j * cstep] + in_off)));
                po[c] = dsp_clamp(dsp_requant(a, dsp_rq(dsp_ldi32(mul + 4u * c), dsp_ldi32(shf + 4u * c))) + out_off,
                                  lo, hi);
            }
        }
    }
    emc_out_main(x, emc_f(b, CF_OUT), (size_t)oh * ow * oc, EMC_DT_I8);
    return 1;
}
#else
typedef int emc_dsp_depthwise_conv2d_unused; /* ISO C: no empty translation unit */
#endif
