/* GENERIC_DEPTHWISE_CONV2D (0x4002): TFLM reference_integer_ops::DepthwiseConvPerChannel. */
#include "g_conv_common.h"
#if defined(EMC_USE_DSP) && EMC_USE_DSP
#include "../../ports/cortex_m/emc_dsp.h"
#endif

static emc_status_t check(emc_check_t *c) { return g_conv_check(c, 1); }

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, CF_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, CF_OUT));
    int32_t ih = (int32_t)emc_f(b, CF_IH), iw = (int32_t)emc_f(b, CF_IW), ic = (int32_t)emc_f(b, CF_IC);
    int32_t oh = (int32_t)emc_f(b, CF_OH), ow = (int32_t)emc_f(b, CF_OW), oc = (int32_t)emc_f(b, CF_OC);
    int32_t kh = (int32_t)emc_f(b, CF_KH), kw = (int32_t)emc_f(b, CF_KW), sh = (int32_t)emc_f(b, CF_SH);
    int32_t sw = (int32_t)emc_f(b, CF_SW), dh = (int32_t)emc_f(b, CF_DH), dw = (int32_t)emc_f(b, CF_DW);
    int32_t pt = (int32_t)emc_f(b, CF_PT), pl = (int32_t)emc_f(b, CF_PL), in_off = emc_fi(b, CF_IN_OFF);
    int32_t dm = (int32_t)emc_f(b, CF_DM);
    const int8_t *w = (const int8_t *)(b->p + 4 * CF_N + 12u * (uint32_t)oc);
    int32_t oy, ox, o, ky, kx;
#if defined(EMC_USE_DSP) && EMC_USE_DSP
    if (emc_dsp_depthwise_conv2d(x))
        return;
#endif
    for (oy = 0; oy < oh; oy++)
        for (ox = 0; ox < ow; ox++) {
            int32_t y0 = oy * sh - pt, x0 = ox * sw - pl;
            for (o = 0; o < oc; o++) {
                int64_t acc = 0;
                int32_t c = o / dm;
                for (ky = 0; ky < kh; ky++) {
                    int32_t iy = y0 + dh * ky;
                    if (iy < 0 || iy >= ih)
                        continue;
                    for (kx = 0; kx < kw; kx++) {
                        int32_t ix = x0 + dw * kx;
                        if (ix < 0 || ix >= iw)
                            continue;
                        acc += (int64_t)w[((size_t)ky * kw + kx) * oc + o] *
                               ((int32_t)in[((size_t)iy * iw + ix) * ic + c] + in_off);
                    }
                }
                out[((size_t)oy * ow + ox) * oc + o] = g_conv_finish(b, acc, (uint32_t)o);
            }
        }
    emc_out_main(x, emc_f(b, CF_OUT), (size_t)oh * ow * oc, EMC_DT_I8);
}

const emc_kernel_t emc_g_depthwise_conv2d = {0x4002, 4 * CF_N, "GENERIC_DEPTHWISE_CONV2D", check, run};
