/* GENERIC_PRELU (0x4017): TFLM prelu (int8, reference BroadcastPrelu4DSlow): one multiplier for
 * x >= 0, one for x * alpha otherwise; alpha broadcasts as operand B of g_broadcast.h. */
#include "g_broadcast.h"

enum { F_IN_OFF = BF_N, F_ALPHA_OFF, F_OUT_OFF, F_POS_MUL, F_POS_SH, F_NEG_MUL, F_NEG_SH, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    if (g_range(c, F_IN_OFF, -127, 128, 1) || g_range(c, F_ALPHA_OFF, -127, 128, 1) ||
        g_range(c, F_OUT_OFF, -128, 127, 1) || g_range(c, F_POS_SH, -31, 30, 1) || g_range(c, F_NEG_SH, -31, 30, 1))
        return c->err.status;
    return g_bcast_check(c, N_FIELDS);
}

static int8_t prelu(const emc_body_t *b, int32_t a, int32_t alpha)
{
    int32_t x = a + emc_fi(b, F_IN_OFF), v;
    if (x >= 0)
        v = g_mbqm(x, emc_fi(b, F_POS_MUL), emc_fi(b, F_POS_SH));
    else
        v = g_mbqm(x * (alpha + emc_fi(b, F_ALPHA_OFF)), emc_fi(b, F_NEG_MUL), emc_fi(b, F_NEG_SH));
    return g_clamp8(v + emc_fi(b, F_OUT_OFF), -128, 127);
}

static void run(emc_exec_t *x) { g_bcast_run(x, N_FIELDS, prelu); }

const emc_kernel_t emc_g_prelu = {0x4017, 4 * N_FIELDS, "GENERIC_PRELU", check, run};
