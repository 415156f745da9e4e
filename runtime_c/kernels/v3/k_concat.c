/* CONCAT (16) / QUANTIZED_CONCAT (17): byte ranges appended in order at the output address. */
#include "emc_internal.h"

enum { F_FLAGS, F_OUT, F_COUNT, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t i, n = emc_f(b, F_COUNT);
    uint64_t total = 0;
    if (emc_chk_tail(c, F_COUNT, 4 * N_FIELDS, (uint64_t)n * 8u))
        return c->err.status;
    for (i = 0; i < n; i++) {
        uint32_t fs = N_FIELDS + 2 * i;
        if (emc_chk_main(c, fs, emc_f(b, fs), emc_f(b, fs + 1)))
            return c->err.status;
        total += emc_f(b, fs + 1);
    }
    if (emc_chk_main(c, F_OUT, emc_f(b, F_OUT), total))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, F_OUT), (uint32_t)total, b->type == 16 ? EMC_DT_F32 : EMC_DT_U8);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    uint8_t *dst = x->main + emc_f(b, F_OUT), *o = dst;
    uint32_t i, n = emc_f(b, F_COUNT);
    for (i = 0; i < n; i++) {
        uint32_t fs = N_FIELDS + 2 * i, sz = emc_f(b, fs + 1);
        memmove(o, x->main + emc_f(b, fs), sz);
        o += sz;
    }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)(o - dst), b->type == 16 ? EMC_DT_F32 : EMC_DT_U8);
}

const emc_kernel_t emc_k_concat = {16, 4 * N_FIELDS, "CONCAT", check, run};
const emc_kernel_t emc_k_quant_concat = {17, 4 * N_FIELDS, "QUANTIZED_CONCAT", check, run};
