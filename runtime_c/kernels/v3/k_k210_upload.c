/* K210_UPLOAD (10243): dense CHW u8 map in main memory -> KPU RAM row layout (kpu_upload_core).
 * Body: flags, main_mem_in_address, kpu_mem_out_address (rows), width, height, channels. */
#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_KPU, F_W, F_H, F_C, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t i, w = emc_f(b, F_W), h = emc_f(b, F_H), ch = emc_f(b, F_C);
    for (i = F_W; i <= F_C; i++)
        if (emc_f(b, i) < 1 || emc_f(b, i) > 4096)
            return emc_fail(c, EMC_E_BODY, i);
    if (emc_chk_main(c, F_IN, emc_f(b, F_IN), (uint64_t)w * h * ch) ||
        emc_chk_kpu(c, F_KPU, emc_f(b, F_KPU), emc_kpu_extent(emc_kpu_layout(w, h), w, h, ch)))
        return c->err.status;
    emc_set_out(c, 1, emc_f(b, F_KPU) * EMC_KPU_ROW_BYTES, w * h * ch, EMC_DT_U8);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    uint32_t w = emc_f(b, F_W), h = emc_f(b, F_H), ch = emc_f(b, F_C);
    emc_kpu_upload(emc_kpu_at(x, emc_f(b, F_KPU) * EMC_KPU_ROW_BYTES), x->main + emc_f(b, F_IN),
                   emc_kpu_layout(w, h), w, h, ch);
    /* the hook sees the dense map (what was uploaded) */
    emc_out_main(x, emc_f(b, F_IN), (size_t)w * h * ch, EMC_DT_U8);
}

const emc_kernel_t emc_k_k210_upload = {10243, 4 * N_FIELDS, "K210_UPLOAD", check, run};
