/* GENERIC_BROADCAST_ADD (0x4010): TFLM BroadcastAdd6DSlow (int8): GENERIC_ADD's arithmetic over
 * broadcast operands or a constant one. */
#include "g_broadcast.h"

enum { F_A_OFF = BF_N, F_A_MUL, F_A_SH, F_B_OFF, F_B_MUL, F_B_SH, F_LSH, F_O_OFF, F_O_MUL, F_O_SH, F_MIN, F_MAX,
       N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    if (g_range(c, F_A_OFF, -127, 128, 1) || g_range(c, F_B_OFF, -127, 128, 1) || g_range(c, F_LSH, 0, 20, 1) ||
        g_range(c, F_A_SH, -31, 0, 1) || g_range(c, F_B_SH, -31, 0, 1) || g_range(c, F_O_SH, -31, 30, 1) ||
        g_range(c, F_O_OFF, -128, 127, 1) || g_range(c, F_MIN, -128, 127, 1) ||
        g_range(c, F_MAX, emc_fi(b, F_MIN), 127, 1))
        return c->err.status;
    return g_bcast_check(c, N_FIELDS);
}

static int8_t add(const emc_body_t *b, int32_t a, int32_t bb)
{
    int32_t lsh = emc_fi(b, F_LSH);
    int32_t sa = g_mbqm((a + emc_fi(b, F_A_OFF)) * (1 << lsh), emc_fi(b, F_A_MUL), emc_fi(b, F_A_SH));
    int32_t sb = g_mbqm((bb + emc_fi(b, F_B_OFF)) * (1 << lsh), emc_fi(b, F_B_MUL), emc_fi(b, F_B_SH));
    int32_t v = g_mbqm(g_wrap32((int64_t)sa + sb), emc_fi(b, F_O_MUL), emc_fi(b, F_O_SH)) + emc_fi(b, F_O_OFF);
    return g_clamp8(v, emc_fi(b, F_MIN), emc_fi(b, F_MAX));
}

static void run(emc_exec_t *x) { g_bcast_run(x, N_FIELDS, add); }

const emc_kernel_t emc_g_broadcast_add = {0x4010, 4 * N_FIELDS, "GENERIC_BROADCAST_ADD", check, run};
