/* GENERIC_CONV2D on the Cortex-M DSP extension (bit-exact with kernels/generic/g_conv2d.c).
 * Partial im2col: two output pixels' input patches (KH*KW*IC each) are expanded to int16 with
 * the input offset added (padding = 0, which adds nothing, like the skipped taps of the
 * reference), every group of 4 stored reordered [x0 x2][x1 x3] so that SXTB16(w) and
 * SXTB16(w ROR 8) of 4 raw int8 weights pair with them in SMLAD. Then a 2 pixels x 2 output
 * channels block: per 4 K steps 4 column words, 2 weight words, 4 SXTB16, 8 SMLAD.
 * The 32-bit SMLAD accumulator wraps exactly like the reference's g_wrap32(int64 sum). */
#include "emc_dsp.h"

#if defined(EMC_USE_DSP) && EMC_USE_DSP
#include "../../kernels/generic/g_conv_common.h"

/* ic % 4 == 0: expand one column (one output pixel's receptive field) into dst, each group of 4
 * as the two words [x0 x2][x1 x3], groups 8 int16 apart (the other pixel's column fills the
 * other half: the MAC loop reads both pixels' group with two LDRD from one pointer). */
static void fill_col4(int16_t *dst, const int8_t *in, int32_t ih, int32_t iw, int32_t ic, int32_t kh, int32_t kw,
                      int32_t y0, int32_t x0, int32_t dh, int32_t dw, uint32_t off2)
{
    int32_t ky, kx, c;
    int16_t *d = dst;
    for (ky = 0; ky < kh; ky++) {
        int32_t iy = y0 + dh * ky;
        for (kx = 0; kx < kw; kx++) {
            int32_t ix = x0 + dw * kx;
            const int8_t *s;
            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) {
                for (c = 0; c < ic; c += 4, d += 8) {
                    dsp_st32(d, 0);
                    dsp_st32(d + 2, 0);
                }
                continue;
            }
            s = in + ((size_t)iy * iw + ix) * ic;
            for (c = 0; c < ic; c += 4, d += 8) {
                uint32_t v = dsp_ld32(s + c);
                dsp_st32(d, __sadd16(__sxtb16(v), off2));
                dsp_st32(d + 2, __sadd16(dsp_sxtb16_ror8(v), off2));
            }
        }
    }
}

/* Any ic: one column, natural order, then reordered per whole group of 4 (tail natural). */
static void fill_col(int16_t *dst, const int8_t *in, int32_t ih, int32_t iw, int32_t ic, int32_t kh, int32_t kw,
                     int32_t y0, int32_t x0, int32_t dh, int32_t dw, int32_t in_off)
{
    int32_t ky, kx, c, k = kh * kw * ic;
    int16_t *d = dst;
    for (ky = 0; ky < kh; ky++) {
        int32_t iy = y0 + dh * ky;
        for (kx = 0; kx < kw; kx++, d += ic) {
            int32_t ix = x0 + dw * kx;
            const int8_t *s;
            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) {
                memset(d, 0, (size_t)ic * 2u);
                continue;
            }
            s = in + ((size_t)iy * iw + ix) * ic;
            for (c = 0; c < ic; c++)
                d[c] = (int16_t)(s[c] + in_off);
        }
    }
    for (c = 0; c + 4 <= k; c += 4) {
        uint32_t u0 = dsp_ld32(dst + c), u1 = dsp_ld32(dst + c + 2);
        dsp_st32(dst + c, (u0 & 0xFFFFu) | (u1 << 16));
        dsp_st32(dst + c + 2, (u0 >> 16) | (u1 & 0xFFFF0000u));
    }
}

/* 2 pixels x 2 output channels over ng groups of 4 (ng >= 1) of the interleaved columns:
 * per group 2 weight LDR, 2 LDRD, 4 SXTB16, 8 SMLAD. */
static inline void mac2x2(const int16_t *col, const int8_t *w0, const int8_t *w1, int32_t ng, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    uint32_t x0, x1, v, u, t0, t1;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[v], [%[w0]], #4\n\t"
        "ldr %[u], [%[w1]], #4\n\t"
        "ldrd %[x0], %[x1], [%[col]], #8\n\t"
        "sxtb16 %[t0], %[v]\n\t"
        "sxtb16 %[v], %[v], ror #8\n\t"
        "sxtb16 %[t1], %[u]\n\t"
        "sxtb16 %[u], %[u], ror #8\n\t"
        "smlad %[a00], %[x0], %[t0], %[a00]\n\t"
        "smlad %[a00], %[x1], %[v], %[a00]\n\t"
        "smlad %[a01], %[x0], %[t1], %[a01]\n\t"
        "smlad %[a01], %[x1], %[u], %[a01]\n\t"
        "ldrd %[x0], %[x1], [%[col]], #8\n\t"
        "smlad %[a10], %[x0], %[t0], %[a10]\n\t"
        "smlad %[a10], %[x1], %[v], %[a10]\n\t"
        "smlad %[a11], %[x0], %[t1], %[a11]\n\t"
        "smlad %[a11], %[x1], %[u], %[a11]\n\t"
        "subs %[n], %[n], #1\n\t"
        "bne 1b\n\t"
        : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [col] "+r"(col), [w0] "+r"(w0),
          [w1] "+r"(w1), [n] "+r"(ng), [x0] "=&r"(x0), [x1] "=&r"(x1), [v] "=&r"(v), [u] "=&r"(u), [t0] "=&r"(t0),
          [t1] "=&r"(t1)
        :
        : "cc", "memory");
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* The 4 accumulators of a block -> up to 4 int8 outputs. */
static inline __attribute__((always_inline)) void finish2x2(const int32_t acc[4], const uint8_t *mul,
                                                            const uint8_t *shf, int32_t o, int pair, int two,
                                                            int8_t *out0, int8_t *out1, int32_t out_off, int32_t lo,
                                                            int32_t hi)
{
    dsp_rq_t q = dsp_rq(dsp_ldi32(mul + 4u * o), dsp_ldi32(shf + 4u * o));
    out0[o] = dsp_clamp(dsp_requant(acc[0], q) + out_off, lo, hi);
    if (two)
        out1[o] = dsp_clamp(dsp_requant(acc[2], q) + out_off, lo, hi);
    if (pair) {
        q = dsp_rq(dsp_ldi32(mul + 4u * o + 4u), dsp_ldi32(shf + 4u * o + 4u));
        out0[o + 1] = dsp_clamp(dsp_requant(acc[1], q) + out_off, lo, hi);
        if (two)
            out1[o + 1] = dsp_clamp(dsp_requant(acc[3], q) + out_off, lo, hi);
    }
}

int emc_dsp_conv2d(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, CF_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, CF_OUT));
    int32_t ih = (int32_t)emc_f(b, CF_IH), iw = (int32_t)emc_f(b, CF_IW), ic = (int32_t)emc_f(b, CF_IC);
    int32_t oh = (int32_t)emc_f(b, CF_OH), ow = (int32_t)emc_f(b, CF_OW), oc = (int32_t)emc_f(b, CF_OC);
    int32_t kh = (int32_t)emc_f(b, CF_KH), kw = (int32_t)emc_f(b, CF_KW), sh = (int32_t)emc_f(b, CF_SH);
    int32_t sw = (int32_t)emc_f(b, CF_SW), dh = (int32_t)emc_f(b, CF_DH), dw = (int32_t)emc_f(b, CF_DW);
    int32_t pt = (int32_t)emc_f(b, CF_PT), pl = (int32_t)emc_f(b, CF_PL), in_off = emc_fi(b, CF_IN_OFF);
    int32_t out_off = emc_fi(b, CF_OUT_OFF), lo = emc_fi(b, CF_ACT_MIN), hi = emc_fi(b, CF_ACT_MAX);
    const uint8_t *bias = b->p + 4 * CF_N, *mul = bias + 4u * (uint32_t)oc, *shf = mul + 4u * (uint32_t)oc;
    const int8_t *w = (const int8_t *)(shf + 4u * (uint32_t)oc);
    uint32_t off2 = ((uint32_t)in_off & 0xFFFFu) * 0x10001u;
    int32_t k = kh * kw * ic, k2 = (k + 1) & ~1, ng = k >> 2, kt = ng * 4;
    int32_t npix = oh * ow, p, o, g, j, acc[4];
    int16_t *col0 = (int16_t *)(void *)x->m->scratch, *col1 = col0 + k2;
    int grouped = (ic & 3) == 0;

    if ((size_t)k2 * 4u > x->m->scratch_size)
        return 0;
    for (o = 0; o < oc; o++)
        if (!dsp_rq_exact(dsp_ldi32(mul + 4u * o), dsp_ldi32(shf + 4u * o)))
            return 0;
    for (p = 0; p < npix; p += 2) {
        int two = p + 1 < npix;
        int8_t *out0 = out + (size_t)p * oc, *out1 = out0 + oc;
        int32_t y0 = (p / ow) * sh - pt, x0 = (p % ow) * sw - pl, y1 = ((p + 1) / ow) * sh - pt;
        int32_t x1 = ((p + 1) % ow) * sw - pl;
        if (grouped) {
            /* both columns interleaved per group of 4; a missing second pixel reads as padding */
            fill_col4(col0, in, ih, iw, ic, kh, kw, y0, x0, dh, dw, off2);
            fill_col4(col0 + 4, in, ih, iw, ic, kh, kw, two ? y1 : -(1 << 24), x1, dh, dw, off2);
            for (o = 0; o < oc; o += 2) {
                int pair = o + 1 < oc;
                const int8_t *w0 = w + (size_t)o * k;
                acc[0] = acc[2] = dsp_ldi32(bias + 4u * o);
                acc[1] = acc[3] = pair ? dsp_ldi32(bias + 4u * o + 4u) : 0;
                mac2x2(col0, w0, pair ? w0 + k : w0, ng, acc);
                finish2x2(acc, mul, shf, o, pair, two, out0, out1, out_off, lo, hi);
            }
            continue;
        }
        fill_col(col0, in, ih, iw, ic, kh, kw, y0, x0, dh, dw, in_off);
        if (two)
            fill_col(col1, in, ih, iw, ic, kh, kw, y1, x1, dh, dw, in_off);
        else
            memset(col1, 0, (size_t)k2 * 2u);
        for (o = 0; o < oc; o += 2) {
            int pair = o + 1 < oc;
            const int8_t *w0 = w + (size_t)o * k, *w1 = pair ? w0 + k : w0;
            const int16_t *a = col0, *c = col1;
            int32_t acc00 = dsp_ldi32(bias + 4u * o), acc01 = pair ? dsp_ldi32(bias + 4u * o + 4u) : 0;
            int32_t acc10 = acc00, acc11 = acc01;
            for (g = ng; g > 0; g--) {
                uint32_t a0 = dsp_ld32(a), a1 = dsp_ld32(a + 2), c0 = dsp_ld32(c), c1 = dsp_ld32(c + 2);
                uint32_t v = dsp_ld32(w0), wa = __sxtb16(v), wb = dsp_sxtb16_ror8(v);
                a += 4;
                c += 4;
                w0 += 4;
                acc00 = __smlad(a0, wa, acc00);
                acc00 = __smlad(a1, wb, acc00);
                acc10 = __smlad(c0, wa, acc10);
                acc10 = __smlad(c1, wb, acc10);
                v = dsp_ld32(w1);
                w1 += 4;
                wa = __sxtb16(v);
                wb = dsp_sxtb16_ror8(v);
                acc01 = __smlad(a0, wa, acc01);
                acc01 = __smlad(a1, wb, acc01);
                acc11 = __smlad(c0, wa, acc11);
                acc11 = __smlad(c1, wb, acc11);
            }
            for (j = kt; j < k; j++, w0++, w1++) {
                acc00 = (int32_t)((uint32_t)acc00 + (uint32_t)(col0[j] * *w0)); /* wraps like SMLAD */
                acc10 = (int32_t)((uint32_t)acc10 + (uint32_t)(col1[j] * *w0));
                acc01 = (int32_t)((uint32_t)acc01 + (uint32_t)(col0[j] * *w1));
                acc11 = (int32_t)((uint32_t)acc11 + (uint32_t)(col1[j] * *w1));
            }
            acc[0] = acc00;
            acc[1] = acc01;
            acc[2] = acc10;
            acc[3] = acc11;
            finish2x2(acc, mul, shf, o, pair, two, out0, out1, out_off, lo, hi);
        }
    }
    emc_out_main(x, emc_f(b, CF_OUT), (size_t)npix * oc, EMC_DT_I8);
    return 1;
}
#else
typedef int emc_dsp_conv2d_unused; /* ISO C: no empty translation unit */
#endif
