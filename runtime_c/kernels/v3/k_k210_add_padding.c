/* K210_ADD_PADDING (10241): one byte per channel written as pixel (0,0) of a 4x4 KPU map
 * (groups 4, row_len 1, H 4); the other 15 pixels keep whatever KPU RAM holds (kpu.c). */
#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_KPU, F_C, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t ch = emc_f(b, F_C);
    if (ch == 0)
        return emc_fail(c, EMC_E_BODY, F_C);
    if (emc_chk_main(c, F_IN, emc_f(b, F_IN), ch) ||
        emc_chk_kpu(c, F_KPU, emc_f(b, F_KPU), (uint64_t)((ch - 1) / 4) * 256u + ((ch - 1) % 4) * 16u + 1u))
        return c->err.status;
    emc_set_out(c, 1, emc_f(b, F_KPU) * EMC_KPU_ROW_BYTES, ch, EMC_DT_U8);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN);
    uint8_t *dst = emc_kpu_at(x, emc_f(b, F_KPU) * EMC_KPU_ROW_BYTES);
    uint32_t c, ch = emc_f(b, F_C);
    for (c = 0; c < ch; c++)
        dst[(c / 4) * 4 * 64 + (c % 4) * 16] = src[c];
    emc_out_main(x, emc_f(b, F_IN), ch, EMC_DT_U8);
}

const emc_kernel_t emc_k_k210_add_padding = {10241, 4 * N_FIELDS, "K210_ADD_PADDING", check, run};
