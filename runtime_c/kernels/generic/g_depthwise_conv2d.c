/* GENERIC_DEPTHWISE_CONV2D (0x4002): TFLM reference_integer_ops::DepthwiseConvPerChannel.
 *
 * Portable path: per output pixel the taps inside the input are one rectangle [ky0, ky1) x
 * [kx0, kx1) (padding taps add nothing in TFLM), so no tap needs a bounds test. With depth
 * multiplier 1 four channels run per loop (contiguous bytes of the input pixel and of the tap's
 * weights); other depth multipliers and the last ic % 4 channels take one channel per loop. The
 * per-channel {bias, multiplier, shift} are copied to the scratch g_conv_check reserves. */
#include "g_conv_common.h"
#if defined(EMC_USE_DSP) && EMC_USE_DSP
#include "../../ports/cortex_m/emc_dsp.h"
#endif

static emc_status_t check(emc_check_t *c) { return g_conv_check(c, 1); }

/* first tap index k in [0, n) with 0 <= start + step * k, and one past the last with start + step * k < lim */
static inline void tap_range(int32_t start, int32_t step, int32_t n, int32_t lim, int32_t *k0, int32_t *k1)
{
    int32_t a = start < 0 ? (-start + step - 1) / step : 0;
    int32_t e = start < lim ? (lim - 1 - start) / step + 1 : 0;
    *k0 = a;
    *k1 = e < n ? e : n;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    int32_t oy, ox, o, ky, kx;
#if defined(EMC_USE_DSP) && EMC_USE_DSP
    if (emc_dsp_depthwise_conv2d(x))
        return;
#endif
    const g_conv_t g = g_conv_get(x);
    int32_t *rq = (int32_t *)(void *)x->m->scratch; /* bias, multiplier, shift per channel */
    const int32_t tstep = g.dw * g.ic, vec = g.dm == 1 ? g.oc & ~3 : 0;
    g_conv_records(&g, rq);
    for (oy = 0; oy < g.oh; oy++)
        for (ox = 0; ox < g.ow; ox++) {
            int32_t y0 = oy * g.sh - g.pt, x0 = ox * g.sw - g.pl, ky0, ky1, kx0, kx1;
            int8_t *out = g.out + ((size_t)oy * g.ow + ox) * g.oc;
            tap_range(y0, g.dh, g.kh, g.ih, &ky0, &ky1);
            tap_range(x0, g.dw, g.kw, g.iw, &kx0, &kx1);
            if (kx0 >= kx1) /* the window lies in the padding: no tap, and no pointer outside the input */
                ky1 = ky0;
            /* input and weights of tap (ky0, kx0), channel 0 */
            const int8_t *in0 = g.in, *w00 = g.w;
            if (ky0 < ky1) {
                in0 += ((size_t)(y0 + g.dh * ky0) * g.iw + x0 + g.dw * kx0) * g.ic;
                w00 += ((size_t)ky0 * g.kw + kx0) * g.oc;
            }
            for (o = 0; o < vec; o += 4) {
                uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                for (ky = ky0; ky < ky1; ky++) {
                    const int8_t *px = in0 + (size_t)(ky - ky0) * g.dh * g.iw * g.ic + o;
                    const int8_t *pw = w00 + (size_t)(ky - ky0) * g.kw * g.oc + o;
                    for (kx = kx0; kx < kx1; kx++, px += tstep, pw += g.oc) {
                        a0 += (uint32_t)(pw[0] * (px[0] + g.in_off));
                        a1 += (uint32_t)(pw[1] * (px[1] + g.in_off));
                        a2 += (uint32_t)(pw[2] * (px[2] + g.in_off));
                        a3 += (uint32_t)(pw[3] * (px[3] + g.in_off));
                    }
                }
                out[o] = g_conv_requant(&g, rq + 3 * o, a0);
                out[o + 1] = g_conv_requant(&g, rq + 3 * o + 3, a1);
                out[o + 2] = g_conv_requant(&g, rq + 3 * o + 6, a2);
                out[o + 3] = g_conv_requant(&g, rq + 3 * o + 9, a3);
            }
            for (; o < g.oc; o++) {
                uint32_t a = 0;
                for (ky = ky0; ky < ky1; ky++) {
                    const int8_t *px = in0 + (size_t)(ky - ky0) * g.dh * g.iw * g.ic + o / g.dm;
                    const int8_t *pw = w00 + (size_t)(ky - ky0) * g.kw * g.oc + o;
                    for (kx = kx0; kx < kx1; kx++, px += tstep, pw += g.oc)
                        a += (uint32_t)(pw[0] * (px[0] + g.in_off));
                }
                out[o] = g_conv_requant(&g, rq + 3 * o, a);
            }
        }
    emc_out_main(x, emc_f(b, CF_OUT), (size_t)g.oh * g.ow * g.oc, EMC_DT_I8);
}

const emc_kernel_t emc_g_depthwise_conv2d = {0x4002, 4 * CF_N, "GENERIC_DEPTHWISE_CONV2D", check, run};
