/* GENERIC_SLICE (0x4015): `outer` rows of out_row bytes copied from offset inside input rows of
 * in_row bytes (TFLite SPLIT / SPLIT_V, one layer per output; emc/kmodel/layers/generic_slice.py). */
#include "g_fixedpoint.h"

enum { F_FLAGS, F_IN, F_OUT, F_OUTER, F_IN_ROW, F_OFFSET, F_OUT_ROW, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t outer = emc_f(b, F_OUTER), in_row = emc_f(b, F_IN_ROW), out_row = emc_f(b, F_OUT_ROW);
    if (g_range(c, F_OUTER, 1, 1 << 26, 0) || g_range(c, F_IN_ROW, 1, 1 << 26, 0) ||
        g_range(c, F_OUT_ROW, 1, (int64_t)in_row, 0) || g_range(c, F_OFFSET, 0, (int64_t)(in_row - out_row), 0))
        return c->err.status;
    return emc_check_main_io(c, F_IN, outer * in_row, F_OUT, outer * out_row, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *in = x->main + emc_f(b, F_IN) + emc_f(b, F_OFFSET);
    uint8_t *out = x->main + emc_f(b, F_OUT);
    uint32_t o, outer = emc_f(b, F_OUTER), in_row = emc_f(b, F_IN_ROW), out_row = emc_f(b, F_OUT_ROW);
    for (o = 0; o < outer; o++)
        memmove(out + (size_t)o * out_row, in + (size_t)o * in_row, out_row);
    emc_out_main(x, emc_f(b, F_OUT), (size_t)outer * out_row, EMC_DT_I8);
}

const emc_kernel_t emc_g_slice = {0x4015, 4 * N_FIELDS, "GENERIC_SLICE", check, run};
