/* GENERIC_RESIZE_BILINEAR (0x4016): TFLM reference ResizeBilinear for int8 (10-bit fixed point).
 * The i32 tables after the fixed fields (y0, y1, fy per output row, x0, x1, fx per output column;
 * computed at convert time: emc/kmodel/layers/generic_resize_bilinear.py) give each output pixel
 * its four neighbours and 10-bit fractions; the sum of the four weighted values is in 1/2^20 and
 * is rounded half away from zero, as TFLM does. */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_BATCHES, F_IH, F_IW, F_C, F_OH, F_OW, N_FIELDS };
enum { T_Y0, T_Y1, T_FY, T_X0, T_X1, T_FX, N_TABLES };

#define ONE 1024

/* table t's i-th entry (tables are out_h long for rows, out_w long for columns) */
static int32_t tab(const emc_body_t *b, int t, uint32_t i)
{
    uint32_t oh = emc_f(b, F_OH), ow = emc_f(b, F_OW);
    uint32_t start = t <= T_FY ? (uint32_t)t * oh : 3u * oh + (uint32_t)(t - T_X0) * ow;
    return emc_rdi32(b->p + 4u * (N_FIELDS + start + i));
}

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t i, oh = emc_f(b, F_OH), ow = emc_f(b, F_OW);
    uint64_t n = emc_f(b, F_BATCHES), ch = emc_f(b, F_C);
    int t;
    for (i = F_BATCHES; i <= F_OW; i++)
        if (g_range(c, i, 1, 1 << 16, 0))
            return c->err.status;
    if (emc_chk_tail(c, F_OH, 4 * N_FIELDS, 12u * ((uint64_t)oh + ow)))
        return c->err.status;
    for (t = 0; t < N_TABLES; t++) {
        int rows = t <= T_FY;
        int32_t limit = (int32_t)emc_f(b, rows ? F_IH : F_IW);
        for (i = 0; i < (rows ? oh : ow); i++) {
            int32_t v = tab(b, t, i);
            int frac = t == T_FY || t == T_FX;
            if (frac ? (v < -2 * ONE || v > 2 * ONE) : (v < 0 || v >= limit))
                return emc_fail(c, EMC_E_BODY, rows ? F_OH : F_OW);
        }
    }
    return emc_check_main_io(c, F_IN, n * emc_f(b, F_IH) * emc_f(b, F_IW) * ch, F_OUT, n * oh * ow * ch, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, F_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, F_OUT)), *o = out;
    uint32_t n, y, xx, k, batches = emc_f(b, F_BATCHES), oh = emc_f(b, F_OH), ow = emc_f(b, F_OW);
    size_t ch = emc_f(b, F_C), row = (size_t)emc_f(b, F_IW) * ch, image = row * emc_f(b, F_IH);
    for (n = 0; n < batches; n++)
        for (y = 0; y < oh; y++) {
            const int8_t *top = in + n * image + (size_t)tab(b, T_Y0, y) * row;
            const int8_t *bottom = in + n * image + (size_t)tab(b, T_Y1, y) * row;
            int64_t fy = tab(b, T_FY, y);
            for (xx = 0; xx < ow; xx++) {
                size_t x0 = (size_t)tab(b, T_X0, xx) * ch, x1 = (size_t)tab(b, T_X1, xx) * ch;
                int64_t fx = tab(b, T_FX, xx);
                int64_t w_tl = (ONE - fy) * (ONE - fx), w_bl = fy * (ONE - fx), w_tr = (ONE - fy) * fx, w_br = fy * fx;
                for (k = 0; k < ch; k++) {
                    int64_t acc = top[x0 + k] * w_tl + bottom[x0 + k] * w_bl + top[x1 + k] * w_tr + bottom[x1 + k] * w_br;
                    *o++ = (int8_t)((acc + (acc > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
                }
            }
        }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)(o - (int8_t *)out), EMC_DT_I8);
}

const emc_kernel_t emc_g_resize_bilinear = {0x4016, 4 * N_FIELDS, "GENERIC_RESIZE_BILINEAR", check, run};
