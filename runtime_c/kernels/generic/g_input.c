/* GENERIC_INPUT (0x4000): declares one model input (int8, uint8 or f32 NHWC, quantization); runs
 * nothing. A model with n inputs starts with n of them (the loader holds them to layers 0..n-1). */
#include "g_tensor_spec.h"

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    if (g_spec_check(c))
        return c->err.status;
    c->input_kind = EMC_IN_MAIN;
    c->input_addr = emc_f(b, TS_ADDR);
    c->input.dtype = (emc_dtype_t)emc_f(b, TS_DTYPE);
    c->input.size = (size_t)g_spec_bytes(b);
    g_spec_shape(b, &c->input.rank, c->input.shape, &c->input.scale, &c->input.zero_point);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    emc_out_main(x, emc_f(x->b, TS_ADDR), (size_t)g_spec_bytes(x->b), (emc_dtype_t)emc_f(x->b, TS_DTYPE));
}

const emc_kernel_t emc_g_input = {0x4000, 4 * TS_N, "GENERIC_INPUT", check, run};
