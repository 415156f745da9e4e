/* GENERIC_CONV2D (0x4001): TFLM reference_integer_ops::ConvPerChannel, NHWC int8.
 *
 * Portable path (every build without the DSP kernels, and the shapes the DSP kernels decline):
 * the scratch that g_conv_check reserves in every build holds two int16 im2col columns (input +
 * input_offset, 0 at padding taps, so no tap needs a bounds test) and the per-channel {bias,
 * multiplier, shift} as aligned int32. Each inner loop then computes 2 output pixels x 2 output
 * channels from contiguous int16 columns and contiguous int8 weight rows. Accumulators are uint32:
 * wrapping is defined and equals TFLM's int32 accumulator for every in-range model. */
#include "g_conv_common.h"
#if defined(EMC_USE_DSP) && EMC_USE_DSP
#include "../../ports/cortex_m/emc_dsp.h"
#endif

static emc_status_t check(emc_check_t *c) { return g_conv_check(c, 0); }

/* the k = kh * kw * ic column of output pixel (oy, ox) */
static void im2col(const g_conv_t *g, int32_t oy, int32_t ox, int16_t *col)
{
    int32_t y0 = oy * g->sh - g->pt, x0 = ox * g->sw - g->pl, ky, kx, c;
    for (ky = 0; ky < g->kh; ky++) {
        int32_t iy = y0 + g->dh * ky;
        for (kx = 0; kx < g->kw; kx++, col += g->ic) {
            int32_t ix = x0 + g->dw * kx;
            if (iy < 0 || iy >= g->ih || ix < 0 || ix >= g->iw) {
                for (c = 0; c < g->ic; c++)
                    col[c] = 0;
            } else {
                const int8_t *px = g->in + ((size_t)iy * g->iw + ix) * g->ic;
                for (c = 0; c < g->ic; c++)
                    col[c] = (int16_t)(px[c] + g->in_off);
            }
        }
    }
}

/* tap i of both columns times both weight rows */
#define MAC2X2(i)                                                                                                     \
    do {                                                                                                             \
        int32_t x0_ = col0[i], x1_ = c1[i], v0_ = w0[i], v1_ = w1[i];                                                \
        a00 += (uint32_t)(v0_ * x0_);                                                                                \
        a01 += (uint32_t)(v1_ * x0_);                                                                                \
        a10 += (uint32_t)(v0_ * x1_);                                                                                \
        a11 += (uint32_t)(v1_ * x1_);                                                                                \
    } while (0)

/* RISC-V has no post-increment loads, so four pointer steps and a branch cost as much as the
 * loads of a tap: two taps per trip there (measured on RV64 QEMU: ResNet-8 70.9 M -> 60.4 M
 * instructions). On Cortex-M one tap per trip is best (two taps spill accumulators to the stack: 43.8 M -> 64.3 M). */
#ifndef EMC_CONV_TAPS_PER_TRIP
#if defined(__riscv)
#define EMC_CONV_TAPS_PER_TRIP 2
#else
#define EMC_CONV_TAPS_PER_TRIP 1
#endif
#endif

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    int32_t p, o, i, npix, k;
#if defined(EMC_USE_DSP) && EMC_USE_DSP
    if (emc_dsp_conv2d(x))
        return;
#endif
    const g_conv_t g = g_conv_get(x);
    k = g.kh * g.kw * g.ic;
    npix = g.oh * g.ow;
    int16_t *col0 = (int16_t *)(void *)x->m->scratch, *col1 = col0 + ((k + 3) & ~3);
    int32_t *rq = (int32_t *)(void *)(col1 + ((k + 3) & ~3)); /* bias, multiplier, shift per channel */
    g_conv_records(&g, rq);
    for (p = 0; p < npix; p += 2) {
        /* an odd last pixel is computed twice from one column and written once */
        const int16_t *c1 = p + 1 < npix ? col1 : col0;
        int8_t *out0 = g.out + (size_t)p * g.oc, *out1 = p + 1 < npix ? out0 + g.oc : out0;
        im2col(&g, p / g.ow, p % g.ow, col0);
        if (p + 1 < npix)
            im2col(&g, (p + 1) / g.ow, (p + 1) % g.ow, col1);
        for (o = 0; o < g.oc; o += 2) {
            /* an odd last channel likewise */
            int32_t o1 = o + 1 < g.oc ? o + 1 : o;
            const int8_t *w0 = g.w + (size_t)o * k, *w1 = g.w + (size_t)o1 * k;
            uint32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
            i = 0;
#if EMC_CONV_TAPS_PER_TRIP == 2
            for (; i + 1 < k; i += 2) {
                MAC2X2(i);
                MAC2X2(i + 1);
            }
#endif
            for (; i < k; i++)
                MAC2X2(i);
            out0[o] = g_conv_requant(&g, rq + 3 * o, a00);
            out0[o1] = g_conv_requant(&g, rq + 3 * o1, a01);
            out1[o] = g_conv_requant(&g, rq + 3 * o, a10);
            out1[o1] = g_conv_requant(&g, rq + 3 * o1, a11);
        }
    }
    emc_out_main(x, emc_f(b, CF_OUT), (size_t)npix * g.oc, EMC_DT_I8);
}

const emc_kernel_t emc_g_conv2d = {0x4001, 4 * CF_N, "GENERIC_CONV2D", check, run};
