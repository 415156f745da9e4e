/* GENERIC_ADD (0x4006): TFLM reference_integer_ops::Add (int8, same shapes). */
#include "g_fixedpoint.h"
#if defined(EMC_USE_DSP) && EMC_USE_DSP
#include "../../ports/cortex_m/emc_dsp.h"
#endif

enum { F_FLAGS, F_A, F_B, F_OUT, F_COUNT, F_A_OFF, F_A_MUL, F_A_SH, F_B_OFF, F_B_MUL, F_B_SH, F_LSH, F_O_OFF,
       F_O_MUL, F_O_SH, F_MIN, F_MAX, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t n = emc_f(b, F_COUNT);
    if (g_range(c, F_COUNT, 1, 1 << 26, 0) || g_range(c, F_A_OFF, -127, 128, 1) || g_range(c, F_B_OFF, -127, 128, 1) ||
        g_range(c, F_LSH, 0, 20, 1) || g_range(c, F_A_SH, -31, 0, 1) || g_range(c, F_B_SH, -31, 0, 1) ||
        g_range(c, F_O_SH, -31, 30, 1) || g_range(c, F_O_OFF, -128, 127, 1) || g_range(c, F_MIN, -128, 127, 1) ||
        g_range(c, F_MAX, emc_fi(b, F_MIN), 127, 1))
        return c->err.status;
    if (emc_chk_main(c, F_A, emc_f(b, F_A), n) || emc_chk_main(c, F_B, emc_f(b, F_B), n) ||
        emc_chk_main(c, F_OUT, emc_f(b, F_OUT), n))
        return c->err.status;
    emc_need_cpu_scratch(c, 2048u); /* the DSP kernel's two 256-entry int32 tables (ports/cortex_m) */
    emc_set_out(c, 0, emc_f(b, F_OUT), n, EMC_DT_I8);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *pa = (const int8_t *)(x->main + emc_f(b, F_A)), *pb = (const int8_t *)(x->main + emc_f(b, F_B));
    int8_t *po = (int8_t *)(x->main + emc_f(b, F_OUT));
    uint32_t i, n = emc_f(b, F_COUNT);
    int32_t lsh = emc_fi(b, F_LSH);
#if defined(EMC_USE_DSP) && EMC_USE_DSP
    if (emc_dsp_add(x))
        return;
#endif
    for (i = 0; i < n; i++) {
        int32_t a = ((int32_t)pa[i] + emc_fi(b, F_A_OFF)) * (1 << lsh);
        int32_t bb = ((int32_t)pb[i] + emc_fi(b, F_B_OFF)) * (1 << lsh);
        int32_t sa = g_mbqm(a, emc_fi(b, F_A_MUL), emc_fi(b, F_A_SH));
        int32_t sb = g_mbqm(bb, emc_fi(b, F_B_MUL), emc_fi(b, F_B_SH));
        int32_t v = g_mbqm(g_wrap32((int64_t)sa + sb), emc_fi(b, F_O_MUL), emc_fi(b, F_O_SH)) + emc_fi(b, F_O_OFF);
        po[i] = g_clamp8(v, emc_fi(b, F_MIN), emc_fi(b, F_MAX));
    }
    emc_out_main(x, emc_f(b, F_OUT), n, EMC_DT_I8);
}

const emc_kernel_t emc_g_add = {0x4006, 4 * N_FIELDS, "GENERIC_ADD", check, run};
