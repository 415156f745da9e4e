/* GENERIC_INPUT (0x4000): declares the model input (int8 or f32 NHWC, quantization); runs nothing. */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_OUT, F_DTYPE, F_RANK, F_D0, F_D1, F_D2, F_D3, F_SCALE, F_ZP, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t i, rank;
    uint64_t n = 1;
    if (b->index != 0)
        return emc_fail(c, EMC_E_BODY, F_FLAGS);
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
    if (emc_chk_main(c, F_OUT, emc_f(b, F_OUT), n))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, F_OUT), (uint32_t)n, (emc_dtype_t)emc_f(b, F_DTYPE));
    c->input_kind = EMC_IN_MAIN;
    c->input_addr = emc_f(b, F_OUT);
    c->input.dtype = (emc_dtype_t)emc_f(b, F_DTYPE);
    c->input.size = (size_t)n;
    c->input.rank = rank;
    for (i = 0; i < rank; i++)
        c->input.shape[i] = emc_f(b, F_D0 + i);
    c->input.scale = emc_ff(b, F_SCALE);
    c->input.zero_point = emc_fi(b, F_ZP);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    emc_out_main(x, emc_f(x->b, F_OUT), x->m->input.size, x->m->input.dtype);
}

const emc_kernel_t emc_g_input = {0x4000, 4 * N_FIELDS, "GENERIC_INPUT", check, run};
