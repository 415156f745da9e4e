/* QUANTIZED_GLOBAL_AVERAGE_POOL2D (6), Maix-EMC's patched kpu.c: out[c] = sum / kernel_size,
 * truncating, no requantization (64-bit sum: no overflow for any size). kernel_size 0 is
 * refused at load (division by zero). */
#include "emc_internal.h"

enum { F_FLAGS, F_IN, F_OUT, F_KSIZE, F_CH, N_FIELDS };

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t n = (uint64_t)emc_f(b, F_KSIZE) * emc_f(b, F_CH);
    if (emc_f(b, F_KSIZE) == 0)
        return emc_fail(c, EMC_E_BODY, F_KSIZE);
    return emc_check_main_io(c, F_IN, n, F_OUT, emc_f(b, F_CH), EMC_DT_U8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *src = x->main + emc_f(b, F_IN);
    uint8_t *dst = x->main + emc_f(b, F_OUT);
    uint32_t c, i, ks = emc_f(b, F_KSIZE), ch = emc_f(b, F_CH);
    for (c = 0; c < ch; c++) {
        uint64_t sum = 0;
        for (i = 0; i < ks; i++)
            sum += *src++;
        dst[c] = (uint8_t)(sum / ks);
    }
    emc_out_main(x, emc_f(b, F_OUT), ch, EMC_DT_U8);
}

const emc_kernel_t emc_k_quant_gap2d = {6, 4 * N_FIELDS, "QUANTIZED_GLOBAL_AVERAGE_POOL2D", check, run};
