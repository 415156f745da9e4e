/* GENERIC_RESHAPE (0x4008): byte copy (NHWC needs no reordering). */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_COUNT, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    return emc_check_main_io(c, F_IN, emc_f(b, F_COUNT), F_OUT, emc_f(b, F_COUNT), EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    memmove(x->main + emc_f(b, F_OUT), x->main + emc_f(b, F_IN), emc_f(b, F_COUNT));
    emc_out_main(x, emc_f(b, F_OUT), emc_f(b, F_COUNT), EMC_DT_I8);
}

const emc_kernel_t emc_g_reshape = {0x4008, 4 * N_FIELDS, "GENERIC_RESHAPE", check, run};
