/* GENERIC_OUTPUT (0x400C): declares dtype, shape and quantization of a model output (so that
 * emc_model_output reports them); runs nothing. */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_ADDR, F_DTYPE, F_RANK, F_D0, F_D1, F_D2, F_D3, F_SCALE, F_ZP, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t i, rank;
    uint64_t n = 1;
    if (g_range(c, F_DTYPE, EMC_DT_F32, EMC_DT_I8, 0) || g_range(c, F_RANK, 1, 4, 0))
        return c->err.status;
    rank = emc_f(b, F_RANK);
    for (i = 0; i < rank; i++) {
        if (g_range(c, F_D0 + i, 1, 1 << 24, 0))
            return c->err.status;
        n *= emc_f(b, F_D0 + i);
    }
    if (emc_f(b, F_DTYPE) == EMC_DT_F32)
        n *= 4u;
    if (emc_chk_main(c, F_ADDR, emc_f(b, F_ADDR), n))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, F_ADDR), (uint32_t)n, (emc_dtype_t)emc_f(b, F_DTYPE));
    c->out.rank = rank;
    for (i = 0; i < rank; i++)
        c->out.shape[i] = emc_f(b, F_D0 + i);
    c->out.scale = emc_ff(b, F_SCALE);
    c->out.zero_point = emc_fi(b, F_ZP);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    uint32_t i, n = emc_f(b, F_DTYPE) == EMC_DT_F32 ? 4u : 1u;
    for (i = 0; i < emc_f(b, F_RANK); i++)
        n *= emc_f(b, F_D0 + i);
    emc_out_main(x, emc_f(b, F_ADDR), n, (emc_dtype_t)emc_f(b, F_DTYPE));
}

const emc_kernel_t emc_g_output = {0x400C, 4 * N_FIELDS, "GENERIC_OUTPUT", check, run};
