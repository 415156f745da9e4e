/* GENERIC_ADD on the Cortex-M DSP extension (bit-exact with kernels/generic/g_add.c): each
 * input's rescaled value ((q + offset) << left_shift, then MultiplyByQuantizedMultiplier) comes
 * from a 256-entry table per input (2 KB of the arena's CPU scratch), the sum is requantized
 * with SMMULR (dsp_rq_fast) or the exact general form. */
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
    int32_t am = emc_fi(b, F_A_MUL), as = emc_fi(b, F_A_SH), bm = emc_fi(b, F_B_MUL), bs = emc_fi(b, F_B_SH);
    int32_t om = emc_fi(b, F_O_MUL), os = emc_fi(b, F_O_SH), v;
    int32_t *ta = (int32_t *)(void *)x->m->scratch, *tb = ta + 256;
    if (x->m->scratch_size < 2048u || !dsp_rq_exact(am, as) || !dsp_rq_exact(bm, bs) || !dsp_rq_exact(om, os))
        return 0;
    /* each input's rescaled value depends on its byte only: two 256-entry tables */
    for (v = -128; v < 128; v++) {
        ta[v & 255] = dsp_mbqm((v + a_off) * (1 << lsh), am, as);
        tb[v & 255] = dsp_mbqm((v + b_off) * (1 << lsh), bm, bs);
    }
    /* |ta|, |tb| <= 255 * 2^20, so |sum| < 2^29: dsp_rq_fast when the output shift allows it */
    if ((uint32_t)(-os - 1) < 23u && lo == -128 && hi == 127) {
        /* dsp_rq_fast with the output offset folded into the rounding constant: exact, as
         * o_off << r is a multiple of 2^r and |sum| < 2^29, |c| < 2^30 cannot overflow (r <= 23) */
        int32_t r = -os, c = (int32_t)(1u << (r - 1)) + (int32_t)((uint32_t)o_off << r);
        const uint8_t *ua = (const uint8_t *)pa, *ub = (const uint8_t *)pb;
        for (i = 0; i < n; i++) {
            int32_t h, t = ta[ua[i]] + tb[ub[i]];
            __asm__("smmulr %0, %1, %2" : "=r"(h) : "r"((int32_t)((uint32_t)t << 1)), "r"(om));
            po[i] = (int8_t)__ssat((h + c - (int32_t)((uint32_t)h >> 31)) >> r, 8);
        }
    } else {
        for (i = 0; i < n; i++)
            po[i] = (int8_t)dsp_clamp32(dsp_mbqm(ta[(uint8_t)pa[i]] + tb[(uint8_t)pb[i]], om, os) + o_off, lo, hi);
    }
    emc_out_main(x, emc_f(b, F_OUT), n, EMC_DT_I8);
    return 1;
}
#else
typedef int emc_dsp_add_unused; /* ISO C: no empty translation unit */
#endif
