/* GENERIC_MAX_MIN (0x4018): TFLM maximum_minimum (int8): the larger / smaller raw value of two
 * broadcast operands (g_broadcast.h); no requantization, as in TFLM. */
#include "g_broadcast.h"

enum { F_MINIMUM = BF_N, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    if (g_range(c, F_MINIMUM, 0, 1, 0))
        return c->err.status;
    return g_bcast_check(c, N_FIELDS);
}

static int8_t maximum(const emc_body_t *b, int32_t a, int32_t bb) { (void)b; return (int8_t)(a > bb ? a : bb); }
static int8_t minimum(const emc_body_t *b, int32_t a, int32_t bb) { (void)b; return (int8_t)(a < bb ? a : bb); }

static void run(emc_exec_t *x) { g_bcast_run(x, N_FIELDS, emc_f(x->b, F_MINIMUM) ? minimum : maximum); }

const emc_kernel_t emc_g_max_min = {0x4018, 4 * N_FIELDS, "GENERIC_MAX_MIN", check, run};
