/* Software KPU (kernels/v3/k_k210_conv.c) on the Cortex-M DSP extension: the convolution sums of
 * one input channel, sum over taps of u8 input * unsigned weight, four pixels per input word
 * (UXTB16 / UXTB16 ROR 8, SMLABB / SMLATB) into 32-bit accumulators. Exact: the caller uses it
 * only when every sum of the layer stays below 2^31 (then equal to the reference's int64 sums).
 * 3x3 layers: the channel is first copied with its pad_value border (emc_dsp_kpu_pad), then
 * emc_dsp_kpu_acc33 sums all 9 taps of two pixels in registers (SMLAD pairs taps 0 and 2). */
#include "emc_dsp.h"

#if defined(EMC_USE_DSP) && EMC_USE_DSP

static inline uint32_t uxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

void emc_dsp_kpu_acc(int32_t *acc, const uint8_t *chan, size_t stride, uint32_t w, uint32_t h, uint32_t ksz,
                     int32_t pad, const uint32_t *wv, uint32_t pad_value)
{
    uint32_t ky, kx, y;
    int32_t x;
    for (ky = 0; ky < ksz; ky++)
        for (kx = 0; kx < ksz; kx++) {
            int32_t wt = (int32_t)wv[ky * ksz + kx], dy = (int32_t)ky - pad, dx = (int32_t)kx - pad;
            int32_t padc = (int32_t)pad_value * wt, xlo = dx < 0 ? -dx : 0;
            int32_t xhi = dx > 0 ? (int32_t)w - dx : (int32_t)w;
            if (wt == 0)
                continue;
            for (y = 0; y < h; y++) {
                int32_t sy = (int32_t)y + dy, *row = acc + (size_t)y * w;
                const uint8_t *irow;
                if (sy < 0 || sy >= (int32_t)h) {
                    for (x = 0; x < (int32_t)w; x++)
                        row[x] += padc;
                    continue;
                }
                irow = chan + (size_t)sy * stride + dx;
                for (x = 0; x < xlo; x++)
                    row[x] += padc;
                for (; x + 4 <= xhi; x += 4) {
                    uint32_t v = dsp_ld32(irow + x), a = __uxtb16(v), b = uxtb16_ror8(v);
                    row[x] = __smlabb((int32_t)a, wt, row[x]);
                    row[x + 1] = __smlabb((int32_t)b, wt, row[x + 1]);
                    row[x + 2] = __smlatb((int32_t)a, wt, row[x + 2]);
                    row[x + 3] = __smlatb((int32_t)b, wt, row[x + 3]);
                }
                for (; x < xhi; x++)
                    row[x] += (int32_t)irow[x] * wt;
                for (; x < (int32_t)w; x++)
                    row[x] += padc;
            }
        }
}

/* The channel with a one-pixel border of pad_value: (w + 2) x (h + 2) bytes at dst. */
void emc_dsp_kpu_pad(uint8_t *dst, const uint8_t *chan, size_t stride, uint32_t w, uint32_t h, uint32_t pad_value)
{
    uint32_t pw = w + 2, y;
    memset(dst, (int)pad_value, pw);
    for (y = 0; y < h; y++) {
        uint8_t *d = dst + (size_t)(y + 1) * pw;
        d[0] = (uint8_t)pad_value;
        memcpy(d + 1, chan + (size_t)y * stride, w);
        d[w + 1] = (uint8_t)pad_value;
    }
    memset(dst + (size_t)(h + 1) * pw, (int)pad_value, pw);
}

/* 3x3, padding 1, on the padded channel P ((w + 2) columns): two output pixels per step. One input
 * word [b0 b1 b2 b3] of a tap row serves both: UXTB16 -> [b0 b2], ROR 8 -> [b1 b3]; pixel x takes
 * b0*w0 + b2*w2 (SMLAD with [w0 w2]) + b1*w1, pixel x+1 b1*w0 + b3*w2 + b2*w1. Weights < 2^15 and
 * u8 inputs keep SMLAD's signed halfwords exact. */
void emc_dsp_kpu_acc33(int32_t *acc, const uint8_t *P, uint32_t w, uint32_t h, const uint32_t *wv)
{
    uint32_t pw = w + 2, y, x;
    uint32_t w02a = wv[0] | (wv[2] << 16), w02b = wv[3] | (wv[5] << 16), w02c = wv[6] | (wv[8] << 16);
    uint32_t w1ab = wv[1] | (wv[4] << 16), w1c = wv[7];
    for (y = 0; y < h; y++) {
        const uint8_t *r0 = P + (size_t)y * pw, *r1 = r0 + pw, *r2 = r1 + pw;
        int32_t *row = acc + (size_t)y * w;
        for (x = 0; x + 2 <= w; x += 2) {
            int32_t a0 = row[x], a1 = row[x + 1];
            uint32_t v = dsp_ld32(r0 + x), A = __uxtb16(v), B = uxtb16_ror8(v);
            a0 = __smlad(A, w02a, a0);
            a0 = __smlabb(B, w1ab, a0);
            a1 = __smlad(B, w02a, a1);
            a1 = __smlatb(A, w1ab, a1);
            v = dsp_ld32(r1 + x), A = __uxtb16(v), B = uxtb16_ror8(v);
            a0 = __smlad(A, w02b, a0);
            a0 = __smlabt(B, w1ab, a0);
            a1 = __smlad(B, w02b, a1);
            a1 = __smlatt(A, w1ab, a1);
            v = dsp_ld32(r2 + x), A = __uxtb16(v), B = uxtb16_ror8(v);
            a0 = __smlad(A, w02c, a0);
            a0 = __smlabb(B, w1c, a0);
            a1 = __smlad(B, w02c, a1);
            a1 = __smlatb(A, w1c, a1);
            row[x] = a0;
            row[x + 1] = a1;
        }
        for (; x < w; x++) { /* odd width: the last pixel */
            uint32_t t, k;
            for (t = 0; t < 3; t++)
                for (k = 0; k < 3; k++)
                    row[x] += (int32_t)r0[(size_t)t * pw + x + k] * (int32_t)wv[3 * t + k];
        }
    }
}
#else
typedef int emc_dsp_kpu_unused; /* ISO C: no empty translation unit */
#endif
