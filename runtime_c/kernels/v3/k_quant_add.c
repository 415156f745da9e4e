/* QUANTIZED_ADD (2): u8 + u8 -> u8 with integer rescaling, exactly as kpu.c kpu_quantized_add:
 * it processes ceil(count/8)*8 elements (up to 7 bytes past `count`, covered by EMC_MAIN_SLACK)
 * and rounds with kpu_carry_shift. Products are computed in wrapping 64-bit arithmetic so that
 * absurd multipliers in a hostile file are defined behaviour (same bits as the RISC-V SDK). */
#include "emc_internal.h"

enum {
    F_FLAGS, F_IN_A, F_IN_B, F_OUT, F_COUNT, F_A_OFF, F_A_MUL, F_A_SH, F_B_OFF, F_B_MUL, F_B_SH,
    F_O_OFF, F_O_MUL, F_O_SH, N_FIELDS
};

/* kpu.c kpu_carry_shift: round-to-nearest right shift, reproducing its quirk for negative odd
 * intermediates (spec 8.2). */
static int64_t carry_shift(int64_t v, int32_t shift)
{
    if (shift > 0) {
        v >>= shift - 1;
        if (v & 1)
            v = (v < 0) ? (v >> 1) - 1 : (v >> 1) + 1;
        else
            v >>= 1;
    }
    return v;
}

static int64_t wmul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
static int64_t wadd(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t n8 = ((uint64_t)emc_f(b, F_COUNT) + 7u) / 8u * 8u;
    static const uint32_t shifts[3] = {F_A_SH, F_B_SH, F_O_SH};
    int i;
    if (emc_chk_main_slack(c, F_IN_A, emc_f(b, F_IN_A), n8) || emc_chk_main_slack(c, F_IN_B, emc_f(b, F_IN_B), n8) ||
        emc_chk_main_slack(c, F_OUT, emc_f(b, F_OUT), n8))
        return c->err.status;
    /* count itself must fit main memory; only the rounding tail may use the slack. */
    if (emc_chk_main(c, F_OUT, emc_f(b, F_OUT), emc_f(b, F_COUNT)))
        return c->err.status;
    for (i = 0; i < 3; i++) {
        int32_t s = emc_fi(b, shifts[i]);
        if (s < 0 || s > 63) /* shifting an int64 by that much is undefined */
            return emc_fail(c, EMC_E_BODY, shifts[i]);
    }
    emc_set_out(c, 0, emc_f(b, F_OUT), emc_f(b, F_COUNT), EMC_DT_U8);
    return EMC_OK;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const uint8_t *pa = x->main + emc_f(b, F_IN_A), *pb = x->main + emc_f(b, F_IN_B);
    uint8_t *po = x->main + emc_f(b, F_OUT);
    uint32_t i, n8 = (uint32_t)(((uint64_t)emc_f(b, F_COUNT) + 7u) / 8u * 8u);
    int64_t off_a = emc_fi(b, F_A_OFF), mul_a = emc_fi(b, F_A_MUL), sh_a = emc_fi(b, F_A_SH);
    int64_t off_b = emc_fi(b, F_B_OFF), mul_b = emc_fi(b, F_B_MUL), sh_b = emc_fi(b, F_B_SH);
    int64_t off_o = emc_fi(b, F_O_OFF), mul_o = emc_fi(b, F_O_MUL);
    int32_t sh_o = emc_fi(b, F_O_SH);
    for (i = 0; i < n8; i++) {
        int64_t a = wmul(pa[i] + off_a, mul_a), bb = wmul(pb[i] + off_b, mul_b), v;
        if (sh_a == sh_b)
            v = wadd(a, bb) >> sh_a;
        else
            v = wadd(a >> sh_a, bb >> sh_b);
        v = wadd(carry_shift(wmul(v, mul_o), sh_o), off_o);
        po[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    emc_out_main(x, emc_f(b, F_OUT), emc_f(b, F_COUNT), EMC_DT_U8);
}

const emc_kernel_t emc_k_quant_add = {2, 4 * N_FIELDS, "QUANTIZED_ADD", check, run};
