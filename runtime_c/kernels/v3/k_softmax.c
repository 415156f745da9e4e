/* SOFTMAX (15): kpu.c order: max seeded with FLT_MIN, e_i = expf(x_i - max) summed sequentially,
 * then out_i = e_i / sum. */
#include <float.h>
#include <math.h>

#include "emc_internal.h"
#include "emc_math.h"

enum { F_FLAGS, F_IN, F_OUT, F_CH, N_FIELDS };

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN);
    uint8_t *dst = x->main + emc_f(b, F_OUT);
    uint32_t i, n = emc_f(b, F_CH);
    float mx = FLT_MIN, sum = 0.0f;
    for (i = 0; i < n; i++)
        mx = fmaxf(mx, emc_ldf(src + 4u * i));
    for (i = 0; i < n; i++) {
        float e = emc_expf(emc_ldf(src + 4u * i) - mx);
        sum += e;
        emc_stf(dst + 4u * i, e);
    }
    for (i = 0; i < n; i++)
        emc_stf(dst + 4u * i, emc_ldf(dst + 4u * i) / sum);
    emc_out_main(x, emc_f(b, F_OUT), (size_t)n * 4u, EMC_DT_F32);
}

const emc_kernel_t emc_k_softmax = {15, 4 * N_FIELDS, "SOFTMAX", emc_check_f32_vector, run};
