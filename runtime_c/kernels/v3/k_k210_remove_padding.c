/* K210_REMOVE_PADDING (10242): out[c] = in[c*16], pixel (0,0) of each 4x4 channel of a dense
 * CHW copy in main memory. */
#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_OUT, F_C, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint32_t ch = emc_f(b, F_C);
    if (ch == 0)
        return emc_fail(c, EMC_E_BODY, F_C);
    if (emc_chk_main(c, F_IN, emc_f(b, F_IN), (uint64_t)(ch - 1) * 16u + 1u))
        return c->err.status;
    if (emc_chk_main(c, F_OUT, emc_f(b, F_OUT), ch))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, F_OUT), ch, EMC_DT_U8);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN);
    uint8_t *dst = x->main + emc_f(b, F_OUT);
    uint32_t c, ch = emc_f(b, F_C);
    for (c = 0; c < ch; c++)
        dst[c] = src[(size_t)c * 16u];
    emc_out_main(x, emc_f(b, F_OUT), ch, EMC_DT_U8);
}

const emc_kernel_t emc_k_k210_remove_padding = {10242, 4 * N_FIELDS, "K210_REMOVE_PADDING", check, run};
