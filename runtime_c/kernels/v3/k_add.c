/* ADD (1): out[i] = a[i] + b[i] on f32 (kpu.c kpu_kmodel_add). */
#include "emc_internal.h"

enum { F_FLAGS, F_IN_A, F_IN_B, F_OUT, F_COUNT, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t bytes = (uint64_t)emc_f(b, F_COUNT) * 4u;
    if (emc_chk_main(c, F_IN_A, emc_f(b, F_IN_A), bytes) || emc_chk_main(c, F_IN_B, emc_f(b, F_IN_B), bytes) ||
        emc_chk_main(c, F_OUT, emc_f(b, F_OUT), bytes))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, F_OUT), (uint32_t)bytes, EMC_DT_F32);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *a = x->main + emc_f(b, F_IN_A), *bb = x->main + emc_f(b, F_IN_B);
    uint8_t *o = x->main + emc_f(b, F_OUT);
    uint32_t i, n = emc_f(b, F_COUNT);
    for (i = 0; i < n; i++)
        emc_stf(o + 4u * i, emc_ldf(a + 4u * i) + emc_ldf(bb + 4u * i));
    emc_out_main(x, emc_f(b, F_OUT), (size_t)n * 4u, EMC_DT_F32);
}

const emc_kernel_t emc_k_add = {1, 4 * N_FIELDS, "ADD", check, run};
