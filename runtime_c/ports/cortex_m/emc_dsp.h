/* Cortex-M DSP-extension kernels for the generic int8 profile (SMLAD, SXTB16, QADD through ACLE
 * arm_acle.h; no CMSIS / CMSIS-NN). Bit-exact with the portable kernels in kernels/generic/.
 *
 * Selected at compile time: build with -DEMC_USE_DSP=1 (firmware_stm32/Makefile DSP=1, the
 * default for the Cortex-M QEMU targets) and add the .c files of runtime_c/ports/cortex_m to the sources.
 * Without it the generic kernels are the portable reference loops everywhere. Each
 * emc_dsp_*() returns 1 when it ran the layer, 0 to let the portable kernel run it (shapes it
 * does not cover). Scratch (im2col columns) lives in the arena region the loader reserves with
 * emc_need_cpu_scratch(), which every build counts, so emc_arena_required() and
 * emc.kmodel.arena.arena_bytes() do not depend on the kernels compiled in. Model bodies and int8
 * tensors are read with unaligned LDR (needs CCR.UNALIGN_TRP = 0, the reset default); LDRD/LDM only
 * touch the 16-byte-aligned scratch. */
#ifndef EMC_DSP_H
#define EMC_DSP_H
#include "emc_internal.h"

#if defined(EMC_USE_DSP) && EMC_USE_DSP
#if !defined(__ARM_FEATURE_DSP) || !__ARM_FEATURE_DSP
#error "EMC_USE_DSP needs a core with the DSP extension (Cortex-M4/M7/M33/M55: -mcpu=cortex-m4 ...)"
#endif
#include <arm_acle.h>

int emc_dsp_conv2d(emc_exec_t *x);
int emc_dsp_depthwise_conv2d(emc_exec_t *x);
int emc_dsp_fully_connected(emc_exec_t *x);
int emc_dsp_add(emc_exec_t *x);
/* GENERIC_LSTM's gate_fc4 (g_lstm.c): out[g] = sat16(requantized bias + sum over k < n of
 * w[g * gate_pitch + k] * v[k]), g = 0..3; 0 (nothing done) when a multiplier is INT32_MIN */
int emc_dsp_lstm_gates(const int8_t *w, size_t gate_pitch, const int8_t *v, uint32_t n, const uint8_t *bias,
                       size_t bias_pitch, const uint8_t *mul, const uint8_t *sh, int32_t out[4]);
/* software KPU: acc[y*w+x] += sum over the ksz x ksz taps (padding `pad`, pad_value outside) of
 * u8 input * wv[tap] (wv < 2^15), one input channel; the caller guarantees no sum reaches 2^31. */
void emc_dsp_kpu_acc(int32_t *acc, const uint8_t *chan, size_t stride, uint32_t w, uint32_t h, uint32_t ksz,
                     int32_t pad, const uint32_t *wv, uint32_t pad_value);
/* the same for 3x3 / padding 1 over a padded copy of the channel ((w + 2) x (h + 2) bytes) */
void emc_dsp_kpu_pad(uint8_t *dst, const uint8_t *chan, size_t stride, uint32_t w, uint32_t h, uint32_t pad_value);
void emc_dsp_kpu_acc33(int32_t *acc, const uint8_t *P, uint32_t w, uint32_t h, const uint32_t *wv);

/* SXTB16(v ROR 8): bytes 1 and 3 sign-extended to halfwords, one instruction (GCC 12's
 * arm_acle.h has no __ror, and GCC does not fold a rotate into SXTB16 itself). */
static inline uint32_t dsp_sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* v rotated right by 8 (ROR; for SXTAB16 of bytes 1 and 3) */
static inline uint32_t dsp_ror8(uint32_t v) { return (v >> 8) | (v << 24); }

/* Unaligned / type-punned 32-bit load and store (one LDR/STR on ARMv7E-M). */
static inline uint32_t dsp_ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline void dsp_st32(void *p, uint32_t v) { memcpy(p, &v, 4); }
/* sum of the 3x3 bytes at p (rows pw apart); reads one byte past each row's three */
static inline uint32_t dsp_win33(const uint8_t *p, uint32_t pw)
{
    uint32_t s = __usada8(dsp_ld32(p) & 0xFFFFFFu, 0u, 0u);
    s = __usada8(dsp_ld32(p + pw) & 0xFFFFFFu, 0u, s);
    return __usada8(dsp_ld32(p + 2u * pw) & 0xFFFFFFu, 0u, s);
}

static inline int32_t dsp_ldi32(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Per-channel requantization constants of g_mbqm() (MultiplyByQuantizedMultiplier, TFLM
 * reference: SaturatingRoundingDoublingHighMul then RoundingDivideByPOT). */
typedef struct dsp_rq {
    int32_t mult, left, right, mask;
} dsp_rq_t;

static inline dsp_rq_t dsp_rq(int32_t mult, int32_t shift)
{
    dsp_rq_t r;
    r.mult = mult;
    r.left = shift & ~(shift >> 31);
    r.right = r.left - shift;
    r.mask = (int32_t)~(~0u << r.right);
    return r;
}

/* SaturatingRoundingDoublingHighMul(x, m) for m != INT32_MIN (no saturation case):
 * floor((x*m + 2^30) / 2^31), equal to TFLite's nudge-and-truncate for both signs. One SMLAL. */
static inline int32_t dsp_srdhm(int32_t xv, int32_t m)
{
    uint32_t lo = 1u << 30;
    int32_t hi = 0;
    __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(xv), "r"(m));
    return (int32_t)((lo >> 31) | ((uint32_t)hi << 1));
}

/* RoundingDivideByPOT(h, right) (round half away from zero), branch-free:
 * +1 when (h & mask) > (mask >> 1) + [h < 0]. */
static inline int32_t dsp_rdbpot(int32_t h, int32_t right, int32_t mask)
{
    int32_t t = ((mask >> 1) + (int32_t)((uint32_t)h >> 31)) - (h & mask);
    return (h >> right) + (int32_t)((uint32_t)t >> 31);
}

/* g_mbqm(acc, mult, shift) exactly, for mult != INT32_MIN (callers check dsp_rq_exact). */
static inline int32_t dsp_requant(int32_t acc, dsp_rq_t q)
{
    return dsp_rdbpot(dsp_srdhm((int32_t)((uint32_t)acc << q.left), q.mult), q.right, q.mask);
}

/* The same from the raw (mult, shift) pair, branch-free (shift in [-31, 30]). */
static inline int32_t dsp_mbqm(int32_t acc, int32_t mult, int32_t shift)
{
    int32_t left = shift & ~(shift >> 31), right = left - shift;
    int32_t mask = (int32_t)~(~0u << right);
    return dsp_rdbpot(dsp_srdhm((int32_t)((uint32_t)acc << left), mult), right, mask);
}

/* clamp to [lo, hi] (lo <= hi), as int32 */
static inline int32_t dsp_clamp32(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* Fast requantization, exact under conditions checked once per layer (dsp_fast_ok): every
 * shift in [-31, -1] (no left shift, right >= 1) and |acc| < 2^29 (|bias| + K * max|term| <
 * 2^29). Then 2*acc fits, SRDHM = floor((2acc*m + 2^31) / 2^32) = SMMULR(2acc, m), |h| < 2^29,
 * and RoundingDivideByPOT = (h + 2^(right-1) - [h < 0]) >> right without overflow. */
static inline int32_t dsp_rq_fast(int32_t acc, int32_t mult, int32_t right)
{
    int32_t h;
    __asm__("smmulr %0, %1, %2" : "=r"(h) : "r"((int32_t)((uint32_t)acc << 1)), "r"(mult));
    return (h + (int32_t)((1u << right) >> 1) - (int32_t)((uint32_t)h >> 31)) >> right;
}

/* Per channel: may dsp_rq_fast requantize it? bound = 2^29 - (largest |sum of products| the
 * layer's shape allows), > 0 (else never). */
static inline int dsp_fast_chan(int32_t bias, int32_t shift, uint32_t bound)
{
    return (uint32_t)(-shift - 1) < 31u && (uint32_t)bias + bound < 2u * bound;
}

static inline uint32_t dsp_fast_bound(uint64_t max_sum)
{
    return max_sum < (1u << 28) ? (1u << 29) - (uint32_t)max_sum : 0u;
}

/* dsp_rq_fast + output offset + SSAT + store of one accumulator (asm text; t, u scratch). */
#define EPI_FAST(A, STORE)                                                                                           \
    "lsl %[t], %[" A "], #1\n\t"                                                                                     \
    "smmulr %[t], %[t], %[m]\n\t"                                                                                    \
    "add %[u], %[t], %[hr], lsr #1\n\t"                                                                              \
    "sub %[u], %[u], %[t], lsr #31\n\t"                                                                              \
    "asr %[u], %[u], %[r]\n\t"                                                                                       \
    "add %[u], %[u], %[off]\n\t"                                                                                     \
    "ssat %[u], #8, %[u]\n\t" STORE "\n\t"

/* Exact g_mbqm for shift <= 0 (any accumulator, multiplier != INT32_MIN) + output offset + SSAT +
 * store (asm text): SRDHM = floor((acc*m + 2^30) / 2^31) by SMLAL, RoundingDivideByPOT with the
 * channel's mask and threshold. */
#define EPI_EXACT(A, STORE)                                                                                          \
    "mov %[lo], #0x40000000\n\t"                                                                                     \
    "mov %[hi], #0\n\t"                                                                                              \
    "smlal %[lo], %[hi], %[" A "], %[m]\n\t"                                                                         \
    "lsr %[lo], %[lo], #31\n\t"                                                                                      \
    "orr %[lo], %[lo], %[hi], lsl #1\n\t"                                                                            \
    "and %[hi], %[lo], %[mask]\n\t"                                                                                  \
    "rsb %[hi], %[hi], %[mask], asr #1\n\t"                                                                          \
    "add %[hi], %[hi], %[lo], lsr #31\n\t"                                                                           \
    "asr %[lo], %[lo], %[r]\n\t"                                                                                     \
    "add %[lo], %[lo], %[hi], lsr #31\n\t"                                                                           \
    "add %[lo], %[lo], %[off]\n\t"                                                                                   \
    "ssat %[lo], #8, %[lo]\n\t" STORE "\n\t"

/* One output of one channel (multiplier at pm, shift oc4 bytes further) into *po. */
static inline __attribute__((always_inline)) void dsp_epi1_fast(int32_t a0, const uint8_t *pm, int8_t *po,
                                                                int32_t oc4, int32_t out_off)
{
    uint32_t m, r, hr, t, u;
    __asm__ volatile("ldr %[m], [%[pm]]\n\t"
                     "ldr %[r], [%[pm], %[oc4]]\n\t"
                     "rsb %[r], %[r], #0\n\t"
                     "mov %[hr], #1\n\t"
                     "lsl %[hr], %[hr], %[r]\n\t" EPI_FAST("a0", "strb %[u], [%[po]]")
                     : [m] "=&r"(m), [r] "=&r"(r), [hr] "=&r"(hr), [t] "=&r"(t), [u] "=&r"(u)
                     : [a0] "r"(a0), [pm] "r"(pm), [po] "r"(po), [oc4] "r"(oc4), [off] "r"(out_off)
                     : "memory");
}

static inline __attribute__((always_inline)) void dsp_epi1_exact(int32_t a0, const uint8_t *pm, int8_t *po,
                                                                 int32_t oc4, int32_t out_off)
{
    uint32_t m, r, mask, lo, hi;
    __asm__ volatile("ldr %[m], [%[pm]]\n\t"
                     "ldr %[r], [%[pm], %[oc4]]\n\t"
                     "rsb %[r], %[r], #0\n\t"
                     "mvn %[mask], #0\n\t"
                     "lsl %[mask], %[mask], %[r]\n\t"
                     "mvn %[mask], %[mask]\n\t" EPI_EXACT("a0", "strb %[lo], [%[po]]")
                     : [m] "=&r"(m), [r] "=&r"(r), [mask] "=&r"(mask), [lo] "=&r"(lo), [hi] "=&r"(hi)
                     : [a0] "r"(a0), [pm] "r"(pm), [po] "r"(po), [oc4] "r"(oc4), [off] "r"(out_off)
                     : "memory");
}

/* One output whose multiplier is at pm (its shift gap bytes further). mode 2: the channel passed
 * dsp_fast_chan (SMMULR, asm), 1: activation range [-128, 127] and shift <= 0 (exact SMLAL form,
 * asm), 0: the exact general form and a clamp, in C. */
static inline __attribute__((always_inline)) void dsp_out1(int8_t *po, int32_t acc, const uint8_t *pm, int32_t gap,
                                                           int32_t out_off, int32_t lo, int32_t hi, int mode)
{
    if (mode == 2)
        dsp_epi1_fast(acc, pm, po, gap, out_off);
    else if (mode == 1)
        dsp_epi1_exact(acc, pm, po, gap, out_off);
    else
        *po = (int8_t)dsp_clamp32(dsp_mbqm(acc, dsp_ldi32(pm), dsp_ldi32(pm + gap)) + out_off, lo, hi);
}

static inline int dsp_rq_exact(int32_t mult, int32_t shift)
{
    (void)shift;
    return mult != INT32_MIN;
}

static inline int8_t dsp_clamp(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    return (int8_t)(v > hi ? hi : v);
}
#endif /* EMC_USE_DSP */
#endif
