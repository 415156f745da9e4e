/* GENERIC_FULLY_CONNECTED on the Cortex-M DSP extension (bit-exact with
 * kernels/generic/g_fully_connected.c). Three output rows at a time (asm; the rest two at a time,
 * and any weight offset, in C) share the expansion of the input row: per 4 inputs one input word
 * -> SXTAB16 / SXTAB16 ROR 8 (sign extension + input offset), per row one weight word -> SXTB16 /
 * SXTB16 ROR 8 (+ weight offset when nonzero), 2 SMLAD.
 * int16 weights (FC_WEIGHTS_I16, weight offset 0): the input (+ input offset) is expanded once to
 * int16 in the scratch, FC_I16_CHUNK inputs at a time; then 2 rows per asm call, per 8 inputs one
 * LDM of 4 input-pair words and per row one LDM of 4 weight-pair words + 4 SMLAD (11 instructions
 * per 16 MACs; 14 registers, hence fixed registers and a whole asm function). */
#include "emc_dsp.h"

#if defined(EMC_USE_DSP) && EMC_USE_DSP

enum { F_FLAGS, F_IN, F_OUT, F_BATCH, F_ID, F_OD, F_IN_OFF, F_W_OFF, F_OUT_OFF, F_MIN, F_MAX, F_PERCH, N_FIELDS };
enum { FC_WEIGHTS_I16 = 1, FC_RQ_FAST = 2, FC_I16_CHUNK = 256 }; /* as g_fully_connected.c */

static inline int32_t wrap_add(int32_t a, int32_t p) { return (int32_t)((uint32_t)a + (uint32_t)p); }

/* One group of 4 inputs for the 3 rows: SXTAB16 adds the input offset while sign-extending. */
#define MAC3_GROUP                                                                                                   \
    "ldr %[v], [%[xp]], #4\n\t"                                                                                      \
    "sxtab16 %[xb], %[off2], %[v], ror #8\n\t"                                                                       \
    "sxtab16 %[xa], %[off2], %[v]\n\t"                                                                               \
    "ldr %[v], [%[w0]], #4\n\t"                                                                                      \
    "sxtb16 %[t], %[v]\n\t"                                                                                          \
    "sxtb16 %[v], %[v], ror #8\n\t"                                                                                  \
    "smlad %[a0], %[xa], %[t], %[a0]\n\t"                                                                            \
    "smlad %[a0], %[xb], %[v], %[a0]\n\t"                                                                            \
    "ldr %[v], [%[w1]], #4\n\t"                                                                                      \
    "sxtb16 %[t], %[v]\n\t"                                                                                          \
    "sxtb16 %[v], %[v], ror #8\n\t"                                                                                  \
    "smlad %[a1], %[xa], %[t], %[a1]\n\t"                                                                            \
    "smlad %[a1], %[xb], %[v], %[a1]\n\t"                                                                            \
    "ldr %[v], [%[w2]], #4\n\t"                                                                                      \
    "sxtb16 %[t], %[v]\n\t"                                                                                          \
    "sxtb16 %[v], %[v], ror #8\n\t"                                                                                  \
    "smlad %[a2], %[xa], %[t], %[a2]\n\t"                                                                            \
    "smlad %[a2], %[xb], %[v], %[a2]\n\t"

/* A 3-row function over ng >= 1 groups of 4 inputs, two groups per trip, GROUP the asm of one
 * group (off2: the input offset in both halfwords). */
#define MAC3_FUNCTION(NAME, T, GROUP)                                                                                \
    static __attribute__((noinline)) void NAME(const T *xp, const T *w0, const T *w1, const T *w2, int32_t ng,       \
                                               uint32_t off2, int32_t acc[3])                                        \
    {                                                                                                                \
        int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], n2 = ng >> 1;                                                 \
        uint32_t xa, xb, v, t;                                                                                       \
        if (n2 > 0)                                                                                                  \
            __asm__ volatile("1:\n\t" GROUP GROUP "subs %[n], %[n], #1\n\t"                                          \
                             "bne 1b\n\t"                                                                            \
                             : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [xp] "+r"(xp), [w0] "+r"(w0),            \
                               [w1] "+r"(w1), [w2] "+r"(w2), [n] "+r"(n2), [xa] "=&r"(xa), [xb] "=&r"(xb),           \
                               [v] "=&r"(v), [t] "=&r"(t)                                                            \
                             : [off2] "r"(off2)                                                                      \
                             : "cc", "memory");                                                                      \
        if (ng & 1)                                                                                                  \
            __asm__ volatile(GROUP                                                                                   \
                             : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [xp] "+r"(xp), [w0] "+r"(w0),            \
                               [w1] "+r"(w1), [w2] "+r"(w2), [xa] "=&r"(xa), [xb] "=&r"(xb), [v] "=&r"(v),           \
                               [t] "=&r"(t)                                                                          \
                             : [off2] "r"(off2)                                                                      \
                             : "memory");                                                                            \
        acc[0] = a0;                                                                                                 \
        acc[1] = a1;                                                                                                 \
        acc[2] = a2;                                                                                                 \
    }

/* int8 weights (weight offset 0): per group one input word (SXTAB16 / SXTAB16 ROR 8 with the
 * input offset) shared by the 3 rows' weight words. */
MAC3_FUNCTION(mac3, int8_t, MAC3_GROUP)

/* Two rows of int16 weights over n4 >= 1 groups of 4 int16 inputs (word-aligned), in asm with
 * fixed registers because LDM needs an ascending register list: per 8 inputs one LDM of 4 input
 * words and per row one LDM of 4 weight words + 4 SMLAD (11 instructions per 16 MACs, 16 inputs
 * per trip); an odd group of 4 by LDRD. AAPCS: r0 inputs, r1 row 0, r2 row 1, r3 the 2 starting
 * accumulators (bias bytes or chunk sums: LDR, any alignment), then acc[2] (out) and n4 on the stack. */
void emc_dsp_fc_mac2_i16(const int16_t *xp, const int16_t *w0, const int16_t *w1, const uint8_t *init,
                         int32_t acc[2], int32_t n4);
#define MAC2_I16_UNIT                                                                                                \
    "ldm r0!, {r4-r7}\n\t"                                                                                          \
    "ldm r1!, {r8-r11}\n\t"                                                                                         \
    "smlad r12, r4, r8, r12\n\t"                                                                                    \
    "smlad r12, r5, r9, r12\n\t"                                                                                    \
    "smlad r12, r6, r10, r12\n\t"                                                                                   \
    "smlad r12, r7, r11, r12\n\t"                                                                                   \
    "ldm r2!, {r8-r11}\n\t"                                                                                         \
    "smlad r3, r4, r8, r3\n\t"                                                                                      \
    "smlad r3, r5, r9, r3\n\t"                                                                                      \
    "smlad r3, r6, r10, r3\n\t"                                                                                     \
    "smlad r3, r7, r11, r3\n\t"
__asm__(".text\n\t"
        ".syntax unified\n\t"
        ".thumb\n\t"
        ".p2align 2\n\t"
        ".global emc_dsp_fc_mac2_i16\n\t"
        ".hidden emc_dsp_fc_mac2_i16\n\t"
        ".type emc_dsp_fc_mac2_i16, %function\n\t"
        ".thumb_func\n"
        "emc_dsp_fc_mac2_i16:\n\t"
        "push {r3-r11, lr}\n\t"
        "ldr lr, [sp, #44]\n\t" /* n4 */
        "ldr r12, [r3]\n\t"
        "ldr r3, [r3, #4]\n\t"
        "lsrs lr, lr, #1\n\t" /* C: an odd group of 4 */
        "bcc 4f\n\t"
        "ldrd r4, r5, [r0], #8\n\t"
        "ldrd r8, r9, [r1], #8\n\t"
        "smlad r12, r4, r8, r12\n\t"
        "smlad r12, r5, r9, r12\n\t"
        "ldrd r8, r9, [r2], #8\n\t"
        "smlad r3, r4, r8, r3\n\t"
        "smlad r3, r5, r9, r3\n"
        "4:\n\t"
        "lsrs lr, lr, #1\n\t" /* C: an odd unit of 8, Z: no pair (LDM / SMLAD keep the flags) */
        "bcc 2f\n\t" MAC2_I16_UNIT "2:\n\t"
        "beq 3f\n"
        "1:\n\t" MAC2_I16_UNIT MAC2_I16_UNIT "subs lr, lr, #1\n\t"
        "bne 1b\n"
        "3:\n\t"
        "ldr r4, [sp, #40]\n\t" /* acc */
        "str r12, [r4]\n\t"
        "str r3, [r4, #4]\n\t"
        "pop {r3-r11, pc}\n\t"
        ".size emc_dsp_fc_mac2_i16, .-emc_dsp_fc_mac2_i16\n\t");

/* x[0..n) + in_off as int16 into xs (word-aligned), n a multiple of 4 except at the input's end
 * (the remainder is expanded too; the kernel takes it in C). */
static void expand_i16(int16_t *xs, const int8_t *x, uint32_t n, uint32_t off2)
{
    uint32_t *d = (uint32_t *)(void *)xs, i;
    for (i = n >> 2; i > 0; i--, x += 4) {
        uint32_t v = dsp_ld32(x), xa = __sxtab16(off2, v), xb = __sxtab16(off2, dsp_ror8(v));
        *d++ = (xa & 0xFFFFu) | xb << 16;         /* x0, x1 (PKHBT) */
        *d++ = (xa >> 16) | (xb & 0xFFFF0000u); /* x2, x3 (PKHTB) */
    }
    for (i = 0; i < (n & 3u); i++)
        xs[(n & ~3u) + i] = (int16_t)(x[i] + (int16_t)off2);
}

/* int16 weights, weight offset 0. Row sums live in registers (one chunk) or in the scratch after
 * the input chunk (several); the portable kernel reserved both (g_fully_connected.c check). */
static __attribute__((noinline)) void fc_i16(emc_exec_t *x, const uint8_t *wb, int32_t in_off, int mode)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, F_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, F_OUT));
    uint32_t nb = emc_f(b, F_BATCH), id = emc_f(b, F_ID), od = emc_f(b, F_OD), n, o, i, c0;
    int perch = emc_f(b, F_PERCH) != 0u;
    uint32_t nm = perch ? od : 1u;
    int32_t out_off = emc_fi(b, F_OUT_OFF), lo = emc_fi(b, F_MIN), hi = emc_fi(b, F_MAX);
    const uint8_t *bias = b->p + 4 * N_FIELDS, *mul = bias + 4u * od;
    int32_t gap = (int32_t)(4u * nm);
    int16_t *xs = (int16_t *)(void *)x->m->scratch;
    int32_t *sums = (int32_t *)(void *)(xs + FC_I16_CHUNK);
    uint32_t off2 = ((uint32_t)in_off & 0xFFFFu) * 0x10001u;
    /* LDRD needs word-aligned rows: an even depth and an aligned matrix */
    int aligned = ((id & 1u) | ((uintptr_t)wb & 3u)) == 0u;
    for (n = 0; n < nb; n++) {
        const int8_t *xr = in + (size_t)n * id;
        int8_t *po = out + (size_t)n * od;
        for (c0 = 0; c0 < id; c0 += FC_I16_CHUNK) {
            uint32_t cl = id - c0 < FC_I16_CHUNK ? id - c0 : FC_I16_CHUNK, ng = aligned ? cl >> 2 : 0u;
            int first = c0 == 0, last = c0 + cl == id;
            expand_i16(xs, xr + c0, cl, off2);
            o = 0;
            if (ng > 0 && (cl & 3u) == 0u) { /* the common case without tails or per-row tests */
                const int16_t *w0 = (const int16_t *)(const void *)wb + c0;
                const uint8_t *init = first ? bias : (const uint8_t *)sums, *pm = mul;
                uint32_t mstep = perch ? 4u : 0u;
                int32_t acc[2];
                if (!last) /* a loop per case: fewer live values, no spills around the call */
                    for (; o + 2 <= od; o += 2, w0 += 2 * id) {
                        emc_dsp_fc_mac2_i16(xs, w0, w0 + id, init + 4u * o, acc, (int32_t)ng);
                        sums[o] = acc[0];
                        sums[o + 1] = acc[1];
                    }
                else
                    for (; o + 2 <= od; o += 2, w0 += 2 * id, pm += 2 * mstep) {
                        emc_dsp_fc_mac2_i16(xs, w0, w0 + id, init + 4u * o, acc, (int32_t)ng);
                        dsp_out1(po + o, acc[0], pm, gap, out_off, lo, hi, mode);
                        dsp_out1(po + o + 1, acc[1], pm + mstep, gap, out_off, lo, hi, mode);
                    }
            }
            /* the od % 2 row, or every row when rows are not word-aligned or the chunk has a
             * tail: per 2 inputs one (unaligned) weight LDR, one input-pair LDR, SMLAD */
            for (; o < od; o++) {
                const uint8_t *wr = (const uint8_t *)((const int16_t *)(const void *)wb + (size_t)o * id + c0);
                const uint32_t *xw = (const uint32_t *)(const void *)xs;
                int32_t acc = first ? dsp_ldi32(bias + 4u * o) : sums[o];
                for (i = 0; i + 2 <= cl; i += 2)
                    acc = __smlad(dsp_ld32(wr + 2 * i), xw[i >> 1], acc);
                if (cl & 1u)
                    acc = wrap_add(acc, (int16_t)(uint16_t)(wr[2 * i] | (uint32_t)wr[2 * i + 1] << 8) * xs[i]);
                if (!last)
                    sums[o] = acc;
                else
                    dsp_out1(po + o, acc, mul + (perch ? 4u * o : 0u), gap, out_off, lo, hi, mode);
            }
        }
    }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)nb * od, EMC_DT_I8);
}

/* The epilogue when the layer does not claim FC_RQ_FAST: -1 (a multiplier the asm forms cannot
 * take: the portable kernel), 2: fast when every channel passes dsp_fast_chan, 1: exact asm when
 * the range is [-128, 127] and no shift is positive, 0: C. */
static int fc_epilogue_mode(const uint8_t *bias, uint32_t od, uint32_t nm, int32_t lo, int32_t hi, uint32_t bound)
{
    const uint8_t *mul = bias + 4u * od, *sh = mul + 4u * nm;
    uint32_t o, bor = 0; /* OR of |bias|: >= the largest, enough for the bound */
    int32_t smin = 0, smax = -31, shv;
    for (o = 0; o < nm; o++)
        if (!dsp_rq_exact(dsp_ldi32(mul + 4u * o), dsp_ldi32(sh + 4u * o)))
            return -1;
    if (lo != -128 || hi != 127)
        return 0;
    for (o = 0; o < od; o++) {
        int32_t bv = dsp_ldi32(bias + 4u * o);
        bor |= bv < 0 ? 0u - (uint32_t)bv : (uint32_t)bv;
    }
    for (o = 0; o < nm; o++) {
        shv = dsp_ldi32(sh + 4u * o);
        smin = shv < smin ? shv : smin;
        smax = shv > smax ? shv : smax;
    }
    if (smax > 0)
        return 0;
    return smax == 0 || smin < -31 || bor >= bound ? 1 : 2;
}

int emc_dsp_fully_connected(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, F_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, F_OUT));
    uint32_t nb = emc_f(b, F_BATCH), id = emc_f(b, F_ID), od = emc_f(b, F_OD), n, o, i, ng = id >> 2;
    int perch = emc_f(b, F_PERCH) != 0u;
    uint32_t nm = perch ? od : 1u;
    int32_t in_off = emc_fi(b, F_IN_OFF), w_off = emc_fi(b, F_W_OFF), out_off = emc_fi(b, F_OUT_OFF);
    int32_t lo = emc_fi(b, F_MIN), hi = emc_fi(b, F_MAX);
    const uint8_t *bias = b->p + 4 * N_FIELDS, *mul = bias + 4u * od, *sh = mul + 4u * nm;
    const int8_t *w = (const int8_t *)(sh + 4u * nm);
    int i16 = (emc_f(b, F_FLAGS) & FC_WEIGHTS_I16) != 0u;
    uint32_t off2 = ((uint32_t)in_off & 0xFFFFu) * 0x10001u, woff2 = ((uint32_t)w_off & 0xFFFFu) * 0x10001u;

    int mode;
    uint32_t bound = dsp_fast_bound((uint64_t)id * 32640u + (w_off ? (uint64_t)id * 255u * 255u : 0u));
    int32_t gap = (int32_t)(4u * nm); /* multiplier -> shift */
    if (i16 && w_off != 0)
        return 0; /* the portable kernel's w_off * sum(x) form */
    if (emc_f(b, F_FLAGS) & FC_RQ_FAST) /* every channel passes dsp_fast_chan (checked at load) */
        mode = lo == -128 && hi == 127 ? 2 : 0;
    else
        mode = fc_epilogue_mode(bias, od, nm, lo, hi, bound);
    if (mode < 0)
        return 0;
    if (i16) {
        fc_i16(x, (const uint8_t *)w, in_off, mode);
        return 1;
    }
    for (n = 0; n < nb; n++) {
        const int8_t *xr = in + (size_t)n * id;
        int8_t *po = out + (size_t)n * od;
        o = 0;
        if (w_off == 0 && ng > 0)
            for (; o + 3 <= od; o += 3) {
                const int8_t *w0 = w + (size_t)o * id;
                int32_t acc[3], j;
                acc[0] = dsp_ldi32(bias + 4u * o);
                acc[1] = dsp_ldi32(bias + 4u * o + 4u);
                acc[2] = dsp_ldi32(bias + 4u * o + 8u);
                mac3(xr, w0, w0 + id, w0 + 2 * id, (int32_t)ng, off2, acc);
                for (j = 0; j < 3; j++) {
                    const int8_t *wr = w0 + (size_t)j * id;
                    for (i = ng * 4; i < id; i++)
                        acc[j] = wrap_add(acc[j], wr[i] * (xr[i] + in_off));
                    dsp_out1(po + o + j, acc[j], mul + (perch ? 4u * (o + j) : 0u), gap, out_off, lo, hi, mode);
                }
            }
        for (; o < od; o += 2) {
            int pair = o + 1 < od;
            const int8_t *w0 = w + (size_t)o * id, *w1 = pair ? w0 + id : w0, *xp = xr;
            int32_t acc0 = dsp_ldi32(bias + 4u * o), acc1 = pair ? dsp_ldi32(bias + 4u * o + 4u) : 0;
            if (w_off == 0) {
                for (i = ng; i > 0; i--) {
                    uint32_t v = dsp_ld32(xp), xa = __sxtab16(off2, v), xb = __sxtab16(off2, dsp_ror8(v));
                    uint32_t u = dsp_ld32(w0), t = dsp_ld32(w1);
                    xp += 4;
                    w0 += 4;
                    w1 += 4;
                    acc0 = __smlad(xa, __sxtb16(u), acc0);
                    acc0 = __smlad(xb, dsp_sxtb16_ror8(u), acc0);
                    acc1 = __smlad(xa, __sxtb16(t), acc1);
                    acc1 = __smlad(xb, dsp_sxtb16_ror8(t), acc1);
                }
            } else {
                for (i = ng; i > 0; i--) {
                    uint32_t v = dsp_ld32(xp), xa = __sxtab16(off2, v), xb = __sxtab16(off2, dsp_ror8(v));
                    uint32_t u = dsp_ld32(w0), t = dsp_ld32(w1);
                    xp += 4;
                    w0 += 4;
                    w1 += 4;
                    acc0 = __smlad(xa, __sadd16(__sxtb16(u), woff2), acc0);
                    acc0 = __smlad(xb, __sadd16(dsp_sxtb16_ror8(u), woff2), acc0);
                    acc1 = __smlad(xa, __sadd16(__sxtb16(t), woff2), acc1);
                    acc1 = __smlad(xb, __sadd16(dsp_sxtb16_ror8(t), woff2), acc1);
                }
            }
            for (i = ng * 4; i < id; i++, xp++, w0++, w1++) {
                acc0 = wrap_add(acc0, (*w0 + w_off) * (*xp + in_off));
                acc1 = wrap_add(acc1, (*w1 + w_off) * (*xp + in_off));
            }
            dsp_out1(po + o, acc0, mul + (perch ? 4u * o : 0u), gap, out_off, lo, hi, mode);
            if (pair)
                dsp_out1(po + o + 1, acc1, mul + (perch ? 4u * o + 4u : 0u), gap, out_off, lo, hi, mode);
        }
    }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)nb * od, EMC_DT_I8);
    return 1;
}
#else
typedef int emc_dsp_fully_connected_unused; /* ISO C: no empty translation unit */
#endif
