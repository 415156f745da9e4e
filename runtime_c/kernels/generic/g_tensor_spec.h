/* The body shared by GENERIC_INPUT and GENERIC_OUTPUT: a tensor's main-buffer address, dtype,
 * rank, 4 dims, scale and zero point (see emc/kmodel/layers/generic_input.py). */
#ifndef EMC_G_TENSOR_SPEC_H
#define EMC_G_TENSOR_SPEC_H
#include "g_fixedpoint.h"

enum { TS_FLAGS, TS_ADDR, TS_DTYPE, TS_RANK, TS_D0, TS_D1, TS_D2, TS_D3, TS_SCALE, TS_ZP, TS_N };

/* bytes of the tensor the body describes (fields already checked) */
static inline uint64_t g_spec_bytes(const emc_body_t *b)
{
    uint64_t n = emc_f(b, TS_DTYPE) == EMC_DT_F32 ? 4u : 1u;
    uint32_t i;
    for (i = 0; i < emc_f(b, TS_RANK); i++)
        n *= emc_f(b, TS_D0 + i);
    return n;
}

/* dtype uint8/int8/f32, rank 1..4, dims 1..2^24, the tensor inside the main buffer; then it is the
 * layer's output (address, bytes, dtype) */
static inline emc_status_t g_spec_check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t i;
    if (g_range(c, TS_DTYPE, EMC_DT_U8, EMC_DT_I8, 0) || g_range(c, TS_RANK, 1, 4, 0))
        return c->err.status;
    for (i = 0; i < emc_f(b, TS_RANK); i++)
        if (g_range(c, TS_D0 + i, 1, 1 << 24, 0))
            return c->err.status;
    if (emc_chk_main(c, TS_ADDR, emc_f(b, TS_ADDR), g_spec_bytes(b)))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, TS_ADDR), (uint32_t)g_spec_bytes(b), (emc_dtype_t)emc_f(b, TS_DTYPE));
    return EMC_OK;
}

/* shape and quantization of the checked body into a tensor description */
static inline void g_spec_shape(const emc_body_t *b, uint32_t *rank, uint32_t shape[4], float *scale,
                                int32_t *zero_point)
{
    uint32_t i;
    *rank = emc_f(b, TS_RANK);
    for (i = 0; i < *rank; i++)
        shape[i] = emc_f(b, TS_D0 + i);
    *scale = emc_ff(b, TS_SCALE);
    *zero_point = emc_fi(b, TS_ZP);
}
#endif
