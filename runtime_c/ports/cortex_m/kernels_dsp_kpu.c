/* Software KPU (kernels/v3/k_k210_conv.c) on the Cortex-M DSP extension: the convolution sums of
 * one input channel, sum over taps of u8 input * unsigned weight, four pixels per input word
 * (UXTB16 / UXTB16 ROR 8, SMLABB / SMLATB) into 32-bit accumulators. Exact: the caller uses it
 * only when every sum of the layer stays below 2^31 (then equal to the reference's int64 sums). */
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
#else
typedef int emc_dsp_kpu_unused; /* ISO C: no empty translation unit */
#endif
