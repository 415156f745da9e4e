/* REQUANTIZE (13): u8 -> u8 through the 256-byte table in the body. */
#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_OUT, F_COUNT, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t n = emc_f(b, F_COUNT);
    return emc_check_main_io(c, F_IN, n, F_OUT, n, EMC_DT_U8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN), *table = b->p + 4 * N_FIELDS;
    uint8_t *dst = x->main + emc_f(b, F_OUT);
    uint32_t i, n = emc_f(b, F_COUNT);
    for (i = 0; i < n; i++)
        dst[i] = table[src[i]];
    emc_out_main(x, emc_f(b, F_OUT), n, EMC_DT_U8);
}

const emc_kernel_t emc_k_requantize = {13, 4 * N_FIELDS + 256, "REQUANTIZE", check, run};
