/* TENSORFLOW_FLATTEN (20, f32) / QUANTIZED_TENSORFLOW_FLATTEN (21, u8, Maix-EMC's patched kpu.c):
 * planar CHW -> HWC, loops oy, ox, oc as in kpu.c. */
#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_OUT, F_W, F_H, F_C, N_FIELDS };

static uint32_t elem(uint32_t type) { return type == 20 ? 4u : 1u; }

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t n;
    uint32_t f;
    /* each dimension in [1, 2^20] as emc.kmodel checks: no empty map, and the product cannot wrap */
    for (f = F_W; f <= F_C; f++)
        if (emc_f(b, f) == 0 || emc_f(b, f) > (1u << 20))
            return emc_fail(c, EMC_E_BODY, f);
    n = (uint64_t)emc_f(b, F_W) * emc_f(b, F_H) * emc_f(b, F_C) * elem(b->type);
    return emc_check_main_io(c, F_IN, n, F_OUT, n, b->type == 20 ? EMC_DT_F32 : EMC_DT_U8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN);
    uint8_t *dst = x->main + emc_f(b, F_OUT), *o = dst;
    uint32_t w = emc_f(b, F_W), h = emc_f(b, F_H), ch = emc_f(b, F_C), e = elem(b->type), y, xx, c;
    for (y = 0; y < h; y++)
        for (xx = 0; xx < w; xx++)
            for (c = 0; c < ch; c++) {
                memmove(o, src + ((size_t)(c * h + y) * w + xx) * e, e);
                o += e;
            }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)(o - dst), e == 4 ? EMC_DT_F32 : EMC_DT_U8);
}

const emc_kernel_t emc_k_tf_flatten = {20, 4 * N_FIELDS, "TENSORFLOW_FLATTEN", check, run};
const emc_kernel_t emc_k_quant_tf_flatten = {21, 4 * N_FIELDS, "QUANTIZED_TENSORFLOW_FLATTEN", check, run};
