/* GENERIC_LSTM's gate matrix products and their requantization on the Cortex-M DSP extension
 * (bit-exact with gate_fc4 in kernels/generic/g_lstm.c). The four gate rows of one unit share one
 * input vector (x_t or h_{t-1}, int8, zero points already folded into the biases): per 4 inputs one
 * input word -> SXTB16 / SXTB16 ROR 8 ([x0 x2], [x1 x3]), per row one weight word -> SXTB16 /
 * SXTB16 ROR 8 + 2 SMLAD (23 instructions per 16 MACs, two groups per loop trip, the weights in the
 * body's own order). SMLAD's sum wraps modulo 2^32 (it only sets the Q flag), exactly like the
 * portable kernel's uint32 accumulator, and a product pair (|sum| <= 2 * 128 * 128) never
 * overflows: the same int32 sums in another order. The last n % 4 inputs take a C loop. */
#include "emc_dsp.h"

#if defined(EMC_USE_DSP) && EMC_USE_DSP

/* One group of 4 inputs for the 4 rows: rows 0 / 1 at wa / wa + pitch, rows 2 / 3 at wb / wb + pitch
 * (LDR with a register offset, then post-increment of the base). */
#define MAC4_GROUP                                                                                                   \
    "ldr %[xb], [%[v]], #4\n\t"                                                                                     \
    "sxtb16 %[xa], %[xb]\n\t"                                                                                       \
    "sxtb16 %[xb], %[xb], ror #8\n\t"                                                                               \
    "ldr %[u], [%[wa], %[p]]\n\t"                                                                                   \
    "sxtb16 %[t], %[u]\n\t"                                                                                         \
    "sxtb16 %[u], %[u], ror #8\n\t"                                                                                 \
    "smlad %[a1], %[xa], %[t], %[a1]\n\t"                                                                           \
    "smlad %[a1], %[xb], %[u], %[a1]\n\t"                                                                           \
    "ldr %[u], [%[wa]], #4\n\t"                                                                                     \
    "sxtb16 %[t], %[u]\n\t"                                                                                         \
    "sxtb16 %[u], %[u], ror #8\n\t"                                                                                 \
    "smlad %[a0], %[xa], %[t], %[a0]\n\t"                                                                           \
    "smlad %[a0], %[xb], %[u], %[a0]\n\t"                                                                           \
    "ldr %[u], [%[wb], %[p]]\n\t"                                                                                   \
    "sxtb16 %[t], %[u]\n\t"                                                                                         \
    "sxtb16 %[u], %[u], ror #8\n\t"                                                                                 \
    "smlad %[a3], %[xa], %[t], %[a3]\n\t"                                                                           \
    "smlad %[a3], %[xb], %[u], %[a3]\n\t"                                                                           \
    "ldr %[u], [%[wb]], #4\n\t"                                                                                     \
    "sxtb16 %[t], %[u]\n\t"                                                                                         \
    "sxtb16 %[u], %[u], ror #8\n\t"                                                                                 \
    "smlad %[a2], %[xa], %[t], %[a2]\n\t"                                                                           \
    "smlad %[a2], %[xb], %[u], %[a2]\n\t"

#define MAC4_OPERANDS                                                                                                \
    [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [v] "+r"(v), [wa] "+r"(wa), [wb] "+r"(wb),          \
        [xa] "=&r"(xa), [xb] "=&r"(xb), [u] "=&r"(u), [t] "=&r"(t)

/* acc[g] += sum over k < n of w[g * gate_pitch + k] * v[k], g = 0..3, wrapping: the asm over the
 * n / 4 groups (two per trip, 13 registers), the last n % 4 inputs in C */
static void mac4(const int8_t *w, size_t gate_pitch, const int8_t *v, uint32_t n, int32_t acc[4])
{
    const int8_t *wa = w, *wb = w + 2 * gate_pitch;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t pairs = n >> 3, k, xa, xb, u, t;
    if (pairs > 0)
        __asm__ volatile("1:\n\t" MAC4_GROUP MAC4_GROUP "subs %[n], %[n], #1\n\t"
                         "bne 1b\n\t"
                         : MAC4_OPERANDS, [n] "+r"(pairs)
                         : [p] "r"(gate_pitch)
                         : "cc", "memory");
    if (n & 4u)
        __asm__ volatile(MAC4_GROUP : MAC4_OPERANDS : [p] "r"(gate_pitch) : "memory");
    for (k = n & 3u; k > 0; k--) {
        int32_t xk = *v++;
        a0 = (int32_t)((uint32_t)a0 + (uint32_t)(wa[0] * xk));
        a1 = (int32_t)((uint32_t)a1 + (uint32_t)(wa[gate_pitch] * xk));
        a2 = (int32_t)((uint32_t)a2 + (uint32_t)(wb[0] * xk));
        a3 = (int32_t)((uint32_t)a3 + (uint32_t)(wb[gate_pitch] * xk));
        wa++;
        wb++;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* dsp_mbqm is g_mbqm for every multiplier but INT32_MIN (SRDHM's saturating case), which the portable
 * kernel takes; sat16 is one SSAT */
int emc_dsp_lstm_gates(const int8_t *w, size_t gate_pitch, const int8_t *v, uint32_t n, const uint8_t *bias,
                       size_t bias_pitch, const uint8_t *mul, const uint8_t *sh, int32_t out[4])
{
    int32_t acc[4];
    uint32_t g;
    for (g = 0; g < 4; g++)
        if (dsp_ldi32(mul + 8u * g) == INT32_MIN)
            return 0;
    for (g = 0; g < 4; g++)
        acc[g] = dsp_ldi32(bias + g * bias_pitch);
    mac4(w, gate_pitch, v, n, acc);
    for (g = 0; g < 4; g++)
        out[g] = __ssat(dsp_mbqm(acc[g], dsp_ldi32(mul + 8u * g), dsp_ldi32(sh + 8u * g)), 16);
    return 1;
}
#else
typedef int emc_dsp_lstm_unused; /* ISO C: no empty translation unit */
#endif
