/* GENERIC_AVERAGE_POOL2D (0x4004): TFLM reference_integer_ops::AveragePool (int8): in-image taps
 * averaged rounding half away from zero; an empty window gives 0 (clamped). */
#include "g_pool_common.h"

static emc_status_t check(emc_check_t *c) { return g_pool_check(c); }

/* Window sums of 4 channels per 32-bit word: the bytes biased to unsigned (^ 0x80) and split into
 * two words of 16-bit lanes (channels 0, 2 and 1, 3), 6 operations per 4 taps where the
 * per-channel loop took 4 per tap; exact while a window has at most 257 taps (255 * 257 = 65535
 * fits a lane). 16 channels per pass over the window keep their 8 lane words in registers. */
static inline void ap_add(uint32_t v, uint32_t *even, uint32_t *odd)
{
    v ^= 0x80808080u;
    *even += v & 0x00FF00FFu;
    *odd += (v >> 8) & 0x00FF00FFu;
}

/* the 4 channels of one lane pair: mean of (x + 128) - 128, rounded half away from zero */
static inline void ap_out4(int8_t *po, uint32_t even, uint32_t odd, int32_t n, int32_t lo, int32_t hi)
{
    int32_t s[4], j;
    s[0] = (int32_t)(even & 0xFFFFu), s[2] = (int32_t)(even >> 16);
    s[1] = (int32_t)(odd & 0xFFFFu), s[3] = (int32_t)(odd >> 16);
    for (j = 0; j < 4; j++) {
        int32_t acc = s[j] - 128 * n;
        po[j] = g_clamp8(acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n, lo, hi);
    }
}

static uint32_t ld32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, PF_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, PF_OUT));
    int64_t oh = emc_f(b, PF_OH), ow = emc_f(b, PF_OW), ch = emc_f(b, PF_C), iw = emc_f(b, PF_IW);
    int64_t oy, ox, c, y, xx, y0, y1, x0, x1;
    int32_t lo = emc_fi(b, PF_MIN), hi = emc_fi(b, PF_MAX);
    for (oy = 0; oy < oh; oy++)
        for (ox = 0; ox < ow; ox++) {
            int8_t *po = out + (oy * ow + ox) * ch;
            int64_t n, c4 = 0;
            g_pool_window(b, oy, ox, &y0, &y1, &x0, &x1);
            n = (y1 - y0) * (x1 - x0);
            if (n > 0 && n <= 257) { /* whole words of channels through the lanes */
                for (; c4 + 16 <= ch; c4 += 16) {
                    uint32_t e0 = 0, o0 = 0, e1 = 0, o1 = 0, e2 = 0, o2 = 0, e3 = 0, o3 = 0;
                    for (y = y0; y < y1; y++)
                        for (xx = x0; xx < x1; xx++) {
                            const int8_t *p = in + (y * iw + xx) * ch + c4;
                            ap_add(ld32(p), &e0, &o0);
                            ap_add(ld32(p + 4), &e1, &o1);
                            ap_add(ld32(p + 8), &e2, &o2);
                            ap_add(ld32(p + 12), &e3, &o3);
                        }
                    ap_out4(po + c4, e0, o0, (int32_t)n, lo, hi);
                    ap_out4(po + c4 + 4, e1, o1, (int32_t)n, lo, hi);
                    ap_out4(po + c4 + 8, e2, o2, (int32_t)n, lo, hi);
                    ap_out4(po + c4 + 12, e3, o3, (int32_t)n, lo, hi);
                }
                for (; c4 + 4 <= ch; c4 += 4) {
                    uint32_t e0 = 0, o0 = 0;
                    for (y = y0; y < y1; y++)
                        for (xx = x0; xx < x1; xx++)
                            ap_add(ld32(in + (y * iw + xx) * ch + c4), &e0, &o0);
                    ap_out4(po + c4, e0, o0, (int32_t)n, lo, hi);
                }
            }
            for (c = c4; c < ch; c++) {
                int64_t acc = 0, q;
                n = 0;
                for (y = y0; y < y1; y++)
                    for (xx = x0; xx < x1; xx++) {
                        acc += in[(y * iw + xx) * ch + c];
                        n++;
                    }
                if (n == 0)
                    n = 1;
                q = acc > 0 ? (acc + n / 2) / n : (acc - n / 2) / n;
                po[c] = g_clamp8((int32_t)q, lo, hi);
            }
        }
    emc_out_main(x, emc_f(b, PF_OUT), (size_t)(oh * ow * ch), EMC_DT_I8);
}

const emc_kernel_t emc_g_average_pool2d = {0x4004, 4 * PF_N, "GENERIC_AVERAGE_POOL2D", check, run};
