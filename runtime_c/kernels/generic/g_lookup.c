/* GENERIC_LOOKUP (0x4012): int8 -> int8 through a 256-entry table (TFLM's LOGISTIC, TANH and
 * LEAKY_RELU tabulated at convert time, emc/kmodel/layers/generic_lookup.py); the table follows the
 * fixed fields, the output for input byte b at index b ^ 0x80. */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_COUNT, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t n = emc_f(b, F_COUNT);
    if (g_range(c, F_COUNT, 1, 1 << 26, 0) || emc_chk_tail(c, F_COUNT, 4 * N_FIELDS, 256))
        return c->err.status;
    return emc_check_main_io(c, F_IN, n, F_OUT, n, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *in = x->main + emc_f(b, F_IN), *table = b->p + 4 * N_FIELDS;
    uint8_t *out = x->main + emc_f(b, F_OUT);
    uint32_t i, n = emc_f(b, F_COUNT);
    for (i = 0; i < n; i++)
        out[i] = table[in[i] ^ 0x80u];
    emc_out_main(x, emc_f(b, F_OUT), n, EMC_DT_I8);
}

const emc_kernel_t emc_g_lookup = {0x4012, 4 * N_FIELDS, "GENERIC_LOOKUP", check, run};
