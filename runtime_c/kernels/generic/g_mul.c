/* GENERIC_MUL (0x400F): TFLM reference_integer_ops::Mul / BroadcastMul6DSlow (int8). */
#include "g_broadcast.h"

enum { F_IN1_OFF = BF_N, F_IN2_OFF, F_OUT_OFF, F_OUT_MUL, F_OUT_SH, F_MIN, F_MAX, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    if (g_range(c, F_IN1_OFF, -127, 128, 1) || g_range(c, F_IN2_OFF, -127, 128, 1) ||
        g_range(c, F_OUT_OFF, -128, 127, 1) || g_range(c, F_OUT_SH, -31, 30, 1) || g_range(c, F_MIN, -128, 127, 1) ||
        g_range(c, F_MAX, emc_fi(b, F_MIN), 127, 1))
        return c->err.status;
    return g_bcast_check(c, N_FIELDS);
}

static int8_t mul(const emc_body_t *b, int32_t a, int32_t bb)
{
    int32_t prod = (a + emc_fi(b, F_IN1_OFF)) * (bb + emc_fi(b, F_IN2_OFF));
    return g_clamp8(g_mbqm(prod, emc_fi(b, F_OUT_MUL), emc_fi(b, F_OUT_SH)) + emc_fi(b, F_OUT_OFF), emc_fi(b, F_MIN),
                    emc_fi(b, F_MAX));
}

static void run(emc_exec_t *x) { g_bcast_run(x, N_FIELDS, mul); }

const emc_kernel_t emc_g_mul = {0x400F, 4 * N_FIELDS, "GENERIC_MUL", check, run};
