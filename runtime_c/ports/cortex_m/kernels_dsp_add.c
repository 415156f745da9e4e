/* GENERIC_ADD on the Cortex-M DSP extension (bit-exact with kernels/generic/g_add.c): the
 * body's constants read once, SMLAL-based requantization (emc_dsp.h) instead of the reference's
 * 64-bit division form. */
#include "emc_dsp.h"

#if defined(EMC_USE_DSP) && EMC_USE_DSP

enum { F_FLAGS, F_A, F_B, F_OUT, F_COUNT, F_A_OFF, F_A_MUL, F_A_SH, F_B_OFF, F_B_MUL, F_B_SH, F_LSH, F_O_OFF,
       F_O_MUL, F_O_SH, F_MIN, F_MAX, N_FIELDS };

int emc_dsp_add(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *pa = (const int8_t *)(x->main + emc_f(b, F_A)), *pb = (const int8_t *)(x->main + emc_f(b, F_B));
    int8_t *po = (int8_t *)(x->main + emc_f(b, F_OUT));
    uint32_t i, n = emc_f(b, F_COUNT);
    int32_t lsh = emc_fi(b, F_LSH), a_off = emc_fi(b, F_A_OFF), b_off = emc_fi(b, F_B_OFF);
    int32_t o_off = emc_fi(b, F_O_OFF), lo = emc_fi(b, F_MIN), hi = emc_fi(b, F_MAX);
    dsp_rq_t qa, qb, qo;
    if (!dsp_rq_exact(emc_fi(b, F_A_MUL), emc_fi(b, F_A_SH)) || !dsp_rq_exact(emc_fi(b, F_B_MUL), emc_fi(b, F_B_SH)) ||
        !dsp_rq_exact(emc_fi(b, F_O_MUL), emc_fi(b, F_O_SH)))
        return 0;
    qa = dsp_rq(emc_fi(b, F_A_MUL), emc_fi(b, F_A_SH));
    qb = dsp_rq(emc_fi(b, F_B_MUL), emc_fi(b, F_B_SH));
    qo = dsp_rq(emc_fi(b, F_O_MUL), emc_fi(b, F_O_SH));
    for (i = 0; i < n; i++) {
        int32_t sa = dsp_requant((pa[i] + a_off) * (1 << lsh), qa);
        int32_t sb = dsp_requant((pb[i] + b_off) * (1 << lsh), qb);
        po[i] = dsp_clamp(dsp_requant((int32_t)((uint32_t)sa + (uint32_t)sb), qo) + o_off, lo, hi);
    }
    emc_out_main(x, emc_f(b, F_OUT), n, EMC_DT_I8);
    return 1;
}
#else
typedef int emc_dsp_add_unused; /* ISO C: no empty translation unit */
#endif
