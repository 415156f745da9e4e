/* GENERIC_AVERAGE_POOL2D (0x4004): TFLM reference_integer_ops::AveragePool (int8): in-image taps
 * averaged rounding half away from zero; an empty window gives 0 (clamped). */
#include "g_pool_common.h"

static emc_status_t check(emc_check_t *c) { return g_pool_check(c); }

/* Window sums of up to AP_CHUNK channels, 4 per 32-bit word: the bytes biased to unsigned (^ 0x80)
 * and split into two words of 16-bit lanes (channels 0, 2 and 1, 3), 6 operations per 4 taps where
 * the per-channel loop took 4 per tap; exact while a window has at most 257 taps (255 * 257 =
 * 65535 fits a lane). sums[c] = sum of the window's (x + 128) of channel c0 + c. */
#define AP_CHUNK 64
static void ap_sums(int32_t *sums, const int8_t *in, int64_t iw, int64_t ch, int64_t y0, int64_t y1, int64_t x0,
                    int64_t x1, int64_t c0, int32_t nc)
{
    uint32_t lanes[AP_CHUNK / 2], v;
    int64_t y, xx;
    int32_t j;
    for (j = 0; j < nc / 2; j++)
        lanes[j] = 0;
    for (y = y0; y < y1; y++)
        for (xx = x0; xx < x1; xx++) {
            const int8_t *p = in + (y * iw + xx) * ch + c0;
            for (j = 0; j < nc / 4; j++, p += 4) {
                memcpy(&v, p, 4);
                v ^= 0x80808080u;
                lanes[2 * j] += v & 0x00FF00FFu;
                lanes[2 * j + 1] += (v >> 8) & 0x00FF00FFu;
            }
        }
    for (j = 0; j < nc / 4; j++) {
        sums[4 * j] = (int32_t)(lanes[2 * j] & 0xFFFFu), sums[4 * j + 2] = (int32_t)(lanes[2 * j] >> 16);
        sums[4 * j + 1] = (int32_t)(lanes[2 * j + 1] & 0xFFFFu), sums[4 * j + 3] = (int32_t)(lanes[2 * j + 1] >> 16);
    }
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, PF_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, PF_OUT));
    int64_t oh = emc_f(b, PF_OH), ow = emc_f(b, PF_OW), ch = emc_f(b, PF_C), iw = emc_f(b, PF_IW);
    int64_t oy, ox, c, y, xx, y0, y1, x0, x1;
    int32_t lo = emc_fi(b, PF_MIN), hi = emc_fi(b, PF_MAX), sums[AP_CHUNK];
    for (oy = 0; oy < oh; oy++)
        for (ox = 0; ox < ow; ox++) {
            int8_t *po = out + (oy * ow + ox) * ch;
            int64_t n, c4 = 0;
            int32_t nc;
            g_pool_window(b, oy, ox, &y0, &y1, &x0, &x1);
            n = (y1 - y0) * (x1 - x0);
            if (n > 0 && n <= 257) /* whole words of channels through the lanes */
                for (; c4 + 4 <= ch; c4 += nc) {
                    nc = (int32_t)((ch - c4 < AP_CHUNK ? ch - c4 : AP_CHUNK) & ~3);
                    ap_sums(sums, in, iw, ch, y0, y1, x0, x1, c4, nc);
                    for (c = 0; c < nc; c++) {
                        int32_t acc = sums[c] - 128 * (int32_t)n, m = (int32_t)n;
                        po[c4 + c] = g_clamp8(acc > 0 ? (acc + m / 2) / m : (acc - m / 2) / m, lo, hi);
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
