/* GENERIC_OUTPUT (0x400C): declares dtype, shape and quantization of a model output (so that
 * emc_model_output reports them); runs nothing. */
#include "g_tensor_spec.h"

static emc_status_t check(emc_check_t *c)
{
    if (g_spec_check(c))
        return c->err.status;
    g_spec_shape(c->b, &c->out.rank, c->out.shape, &c->out.scale, &c->out.zero_point);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    emc_out_main(x, emc_f(b, TS_ADDR), (size_t)g_spec_bytes(b), (emc_dtype_t)emc_f(b, TS_DTYPE));
}

const emc_kernel_t emc_g_output = {0x400C, 4 * TS_N, "GENERIC_OUTPUT", check, run};
