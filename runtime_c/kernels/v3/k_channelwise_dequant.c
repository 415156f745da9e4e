/* CHANNELWISE_DEQUANTIZE (24): planar u8 -> f32 with one {scale, bias} per channel. */
#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_OUT, F_CH, F_CSIZE, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t n = (uint64_t)emc_f(b, F_CH) * emc_f(b, F_CSIZE);
    if (emc_chk_tail(c, F_CH, 4 * N_FIELDS, (uint64_t)emc_f(b, F_CH) * 8u))
        return c->err.status;
    return emc_check_main_io(c, F_IN, n, F_OUT, n * 4u, EMC_DT_F32);
}

static void one(uint8_t *dst, const uint8_t *src, size_t i, const uint8_t *q, size_t cs)
{
    const uint8_t *qc = q + 8u * (i / cs);
    float p = (float)src[i] * emc_rdf32(qc);
    emc_stf(dst + 4u * i, p + emc_rdf32(qc + 4));
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN), *q = b->p + 4 * N_FIELDS;
    uint8_t *dst = x->main + emc_f(b, F_OUT);
    size_t cs = emc_f(b, F_CSIZE), n = (size_t)emc_f(b, F_CH) * cs, i;
    /* walk downwards when the 4x wider output starts above the input (overlap-safe) */
    if (dst > src)
        for (i = n; i-- > 0;)
            one(dst, src, i, q, cs);
    else
        for (i = 0; i < n; i++)
            one(dst, src, i, q, cs);
    emc_out_main(x, emc_f(b, F_OUT), n * 4u, EMC_DT_F32);
}

const emc_kernel_t emc_k_channelwise_dequant = {24, 4 * N_FIELDS, "CHANNELWISE_DEQUANTIZE", check, run};
