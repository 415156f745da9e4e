/* L2_NORMALIZATION (14): s = sum x^2 (sequential f32), floor 1e-10, out = x * (1/sqrtf(s)). */
#include <math.h>

#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_OUT, F_CH, N_FIELDS };

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN);
    uint8_t *dst = x->main + emc_f(b, F_OUT);
    uint32_t i, n = emc_f(b, F_CH);
    float sum = 0.0f;
    for (i = 0; i < n; i++) {
        float v = emc_ldf(src + 4u * i), sq = v * v;
        sum += sq;
    }
    if (sum < 1e-10f)
        sum = 1e-10f;
    sum = 1.0f / sqrtf(sum);
    for (i = 0; i < n; i++)
        emc_stf(dst + 4u * i, emc_ldf(src + 4u * i) * sum);
    emc_out_main(x, emc_f(b, F_OUT), (size_t)n * 4u, EMC_DT_F32);
}

const emc_kernel_t emc_k_l2_norm = {14, 4 * N_FIELDS, "L2_NORMALIZATION", emc_check_f32_vector, run};
