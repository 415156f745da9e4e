/* LOGISTIC (25): 1 / (1 + expf(-x)). */
#include "emc_internal.h"
#include "emc_math.h"

enum { F_FLAGS, F_IN, F_OUT, F_CH, N_FIELDS };

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN);
    uint8_t *dst = x->main + emc_f(b, F_OUT);
    uint32_t i, n = emc_f(b, F_CH);
    for (i = 0; i < n; i++) {
        float d = 1.0f + emc_expf(-emc_ldf(src + 4u * i));
        emc_stf(dst + 4u * i, 1.0f / d);
    }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)n * 4u, EMC_DT_F32);
}

const emc_kernel_t emc_k_logistic = {25, 4 * N_FIELDS, "LOGISTIC", emc_check_f32_vector, run};
