/* GLOBAL_AVERAGE_POOL2D (5): per channel, f32 sequential sum / kernel_size (kpu.c). */
#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_OUT, F_KSIZE, F_CH, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t n = (uint64_t)emc_f(b, F_KSIZE) * emc_f(b, F_CH);
    if (emc_f(b, F_KSIZE) == 0)
        return emc_fail(c, EMC_E_BODY, F_KSIZE);
    return emc_check_main_io(c, F_IN, n * 4u, F_OUT, (uint64_t)emc_f(b, F_CH) * 4u, EMC_DT_F32);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN);
    uint8_t *dst = x->main + emc_f(b, F_OUT);
    uint32_t c, i, ks = emc_f(b, F_KSIZE), ch = emc_f(b, F_CH);
    for (c = 0; c < ch; c++) {
        float sum = 0.0f;
        for (i = 0; i < ks; i++) {
            sum += emc_ldf(src);
            src += 4;
        }
        emc_stf(dst + 4u * c, sum / (float)ks);
    }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)ch * 4u, EMC_DT_F32);
}

const emc_kernel_t emc_k_gap2d = {5, 4 * N_FIELDS, "GLOBAL_AVERAGE_POOL2D", check, run};
