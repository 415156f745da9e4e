/* RESIZE_NEAREST_NEIGHBOR (22, f32) / QUANTIZED_... (23, u8): kpu.c's float index computation,
 * in = min(floorf(o * (in/out)), in-1); align_corners is ignored as in kpu.c. Dimensions are
 * limited to 1..65536 so that the float index arithmetic is exact. */
#include <math.h>

#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_OUT, F_IW, F_IH, F_IC, F_OW, F_OH, F_ALIGN, N_FIELDS };

static uint32_t elem(uint32_t type) { return type == 22 ? 4u : 1u; }

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t i, e = elem(b->type);
    for (i = F_IW; i <= F_OH; i++)
        if (emc_f(b, i) < 1 || emc_f(b, i) > 65536) /* float index math stays exact */
            return emc_fail(c, EMC_E_BODY, i);
    if (emc_chk_main(c, F_IN, emc_f(b, F_IN), (uint64_t)emc_f(b, F_IW) * emc_f(b, F_IH) * emc_f(b, F_IC) * e) ||
        emc_chk_main(c, F_OUT, emc_f(b, F_OUT), (uint64_t)emc_f(b, F_OW) * emc_f(b, F_OH) * emc_f(b, F_IC) * e))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, F_OUT), emc_f(b, F_OW) * emc_f(b, F_OH) * emc_f(b, F_IC) * e,
                e == 4 ? EMC_DT_F32 : EMC_DT_U8);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN);
    uint8_t *dst = x->main + emc_f(b, F_OUT), *o = dst;
    uint32_t iw = emc_f(b, F_IW), ih = emc_f(b, F_IH), ic = emc_f(b, F_IC), ow = emc_f(b, F_OW), oh = emc_f(b, F_OH);
    uint32_t e = elem(b->type), c, oy, ox;
    float hs = (float)ih / (float)oh, ws = (float)iw / (float)ow;
    for (c = 0; c < ic; c++) {
        const uint8_t *ch = src + (size_t)iw * ih * c * e;
        for (oy = 0; oy < oh; oy++) {
            float fy = floorf((float)oy * hs);
            uint32_t iy = (uint32_t)(fy < (float)(ih - 1) ? fy : (float)(ih - 1));
            for (ox = 0; ox < ow; ox++) {
                float fx = floorf((float)ox * ws);
                uint32_t ix = (uint32_t)(fx < (float)(iw - 1) ? fx : (float)(iw - 1));
                memmove(o, ch + ((size_t)iy * iw + ix) * e, e);
                o += e;
            }
        }
    }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)(o - dst), e == 4 ? EMC_DT_F32 : EMC_DT_U8);
}

const emc_kernel_t emc_k_resize_nn = {22, 4 * N_FIELDS, "RESIZE_NEAREST_NEIGHBOR", check, run};
const emc_kernel_t emc_k_quant_resize_nn = {23, 4 * N_FIELDS, "QUANTIZED_RESIZE_NEAREST_NEIGHBOR", check, run};
