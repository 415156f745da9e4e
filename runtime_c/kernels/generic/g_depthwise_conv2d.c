/* GENERIC_DEPTHWISE_CONV2D (0x4002): TFLM reference_integer_ops::DepthwiseConvPerChannel. */
#include "g_conv_common.h"
#if defined(EMC_USE_DSP) && EMC_USE_DSP
#include "../../ports/cortex_m/emc_dsp.h"
#endif

static emc_status_t check(emc_check_t *c) { return g_conv_check(c, 1); }

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    int32_t oy, ox, o, ky, kx;
#if defined(EMC_USE_DSP) && EMC_USE_DSP
    if (emc_dsp_depthwise_conv2d(x))
        return;
#endif
    const g_conv_t g = g_conv_get(x);
    for (oy = 0; oy < g.oh; oy++)
        for (ox = 0; ox < g.ow; ox++) {
            int32_t y0 = oy * g.sh - g.pt, x0 = ox * g.sw - g.pl;
            for (o = 0; o < g.oc; o++) {
                int64_t acc = 0;
                int32_t c = o / g.dm;
                for (ky = 0; ky < g.kh; ky++) {
                    int32_t iy = y0 + g.dh * ky;
                    if (iy < 0 || iy >= g.ih)
                        continue;
                    for (kx = 0; kx < g.kw; kx++) {
                        int32_t ix = x0 + g.dw * kx;
                        if (ix < 0 || ix >= g.iw)
                            continue;
                        acc += (int64_t)g.w[((size_t)ky * g.kw + kx) * g.oc + o] *
                               ((int32_t)g.in[((size_t)iy * g.iw + ix) * g.ic + c] + g.in_off);
                    }
                }
                g.out[((size_t)oy * g.ow + ox) * g.oc + o] = g_conv_finish(b, acc, (uint32_t)o);
            }
        }
    emc_out_main(x, emc_f(b, CF_OUT), (size_t)g.oh * g.ow * g.oc, EMC_DT_I8);
}

const emc_kernel_t emc_g_depthwise_conv2d = {0x4002, 4 * CF_N, "GENERIC_DEPTHWISE_CONV2D", check, run};
