/* FULLY_CONNECTED (18): y[o] = (sum_i x[i]*W[o][i], sequential f32 from 0) + bias[o], then
 * act 0 none / 1 ReLU / 2 ReLU6 with kpu.c's max/min macros (NaN -> 0). */
#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_OUT, F_IC, F_OC, F_ACT, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t ic = emc_f(b, F_IC), oc = emc_f(b, F_OC);
    if (emc_chk_tail(c, F_IC, 4 * N_FIELDS, (ic * oc + oc) * 4u))
        return c->err.status;
    if (emc_f(b, F_ACT) > 2)
        return emc_fail(c, EMC_E_BODY, F_ACT);
    if (emc_chk_main(c, F_IN, emc_f(b, F_IN), ic * 4u) || emc_chk_main(c, F_OUT, emc_f(b, F_OUT), oc * 4u))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, F_OUT), (uint32_t)oc * 4u, EMC_DT_F32);
    if (b->index == 0) { /* kpu_run_kmodel copies an f32 input vector here */
        c->input_kind = EMC_IN_MAIN;
        c->input_addr = emc_f(b, F_IN);
        c->input.dtype = EMC_DT_F32;
        c->input.size = (size_t)ic * 4u;
        c->input.rank = 1;
        c->input.shape[0] = (uint32_t)ic;
    }
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN), *w = b->p + 4 * N_FIELDS;
    uint8_t *dst = x->main + emc_f(b, F_OUT);
    uint32_t i, o, ic = emc_f(b, F_IC), oc = emc_f(b, F_OC), act = emc_f(b, F_ACT);
    const uint8_t *bias = w + (size_t)ic * oc * 4u;
    for (o = 0; o < oc; o++) {
        const uint8_t *wr = w + (size_t)o * ic * 4u;
        float sum = 0.0f, y;
        for (i = 0; i < ic; i++) {
            float p = emc_ldf(src + 4u * i) * emc_rdf32(wr + 4u * i);
            sum += p;
        }
        y = sum + emc_rdf32(bias + 4u * o);
        if (act >= 1)
            y = y > 0.0f ? y : 0.0f;
        if (act == 2)
            y = y < 6.0f ? y : 6.0f;
        emc_stf(dst + 4u * o, y);
    }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)oc * 4u, EMC_DT_F32);
}

const emc_kernel_t emc_k_fully_connected = {18, 4 * N_FIELDS, "FULLY_CONNECTED", check, run};
