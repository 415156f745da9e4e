/* GENERIC_RESIZE_NEAREST (0x4013): TFLM reference ResizeNearestNeighbor (int8 NHWC): each output
 * pixel copies the channels of input pixel (src_y[y], src_x[x]); the u32 source tables follow the
 * fixed fields (computed at convert time: emc/kmodel/layers/generic_resize_nearest.py). */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_BATCHES, F_IH, F_IW, F_C, F_OH, F_OW, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t i, oh = emc_f(b, F_OH), ow = emc_f(b, F_OW);
    uint64_t n = emc_f(b, F_BATCHES), ch = emc_f(b, F_C);
    for (i = F_BATCHES; i <= F_OW; i++)
        if (g_range(c, i, 1, 1 << 16, 0))
            return c->err.status;
    if (emc_chk_tail(c, F_OH, 4 * N_FIELDS, 4u * ((uint64_t)oh + ow)))
        return c->err.status;
    for (i = 0; i < oh + ow; i++) {
        uint32_t limit = i < oh ? emc_f(b, F_IH) : emc_f(b, F_IW);
        if (emc_rd32(b->p + 4u * (N_FIELDS + i)) >= limit)
            return emc_fail(c, EMC_E_BODY, i < oh ? F_OH : F_OW);
    }
    return emc_check_main_io(c, F_IN, n * emc_f(b, F_IH) * emc_f(b, F_IW) * ch, F_OUT, n * oh * ow * ch, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *in = x->main + emc_f(b, F_IN), *sy = b->p + 4 * N_FIELDS;
    uint8_t *out = x->main + emc_f(b, F_OUT), *o = out;
    uint32_t n, y, xx, batches = emc_f(b, F_BATCHES), oh = emc_f(b, F_OH), ow = emc_f(b, F_OW);
    size_t ch = emc_f(b, F_C), row = (size_t)emc_f(b, F_IW) * ch, image = row * emc_f(b, F_IH);
    const uint8_t *sx = sy + 4u * oh;
    for (n = 0; n < batches; n++)
        for (y = 0; y < oh; y++)
            for (xx = 0; xx < ow; xx++) {
                memcpy(o, in + n * image + emc_rd32(sy + 4u * y) * row + emc_rd32(sx + 4u * xx) * ch, ch);
                o += ch;
            }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)(o - out), EMC_DT_I8);
}

const emc_kernel_t emc_g_resize_nearest = {0x4013, 4 * N_FIELDS, "GENERIC_RESIZE_NEAREST", check, run};
