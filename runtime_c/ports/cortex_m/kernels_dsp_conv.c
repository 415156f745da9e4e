/* GENERIC_CONV2D on the Cortex-M DSP extension (bit-exact with kernels/generic/g_conv2d.c).
 * Partial im2col: two output pixels' input patches (K = KH*KW*IC each) are expanded to int16
 * with the input offset added (padding = 0, which adds nothing, like the skipped taps of the
 * reference), every group of 4 stored reordered [x0 x2][x1 x3] so that SXTB16(w) and
 * SXTB16(w ROR 8) of 4 raw int8 weights pair with them in SMLAD, the two pixels' groups
 * interleaved (8 int16 per group; the last group zero padded when K % 4 != 0). A 2 pixels x 2
 * output channels block (naked asm, 4 groups per trip): per group 2 weight LDR, 2 LDRD, 4 SXTB16,
 * 8 SMLAD. Scratch (emc_need_cpu_scratch in g_conv_check): 4 * align4(K) bytes of columns (6 *
 * when IC % 4 != 0: the raw bytes of a column are gathered there first), then 18 bytes per output
 * channel (requantization records, pruned channels' constant row, live flags).
 * The 32-bit SMLAD accumulator wraps exactly like the reference's g_wrap32(int64 sum). */
#include "emc_dsp.h"

#if defined(EMC_USE_DSP) && EMC_USE_DSP
#include "../../kernels/generic/g_conv_common.h"

/* n >= 1 groups of 4 input bytes -> [x0 x2][x1 x3] + in_off (SXTAB16), one group every GS bytes of
 * dst (8-byte aligned: STRD; GS = 8 * the pixels whose columns are interleaved: 2, 4, 6 or 8) */
#define EXPAND4(GS)                                                                                                  \
    __asm__ volatile("1:\n\t"                                                                                        \
                     "ldr %[a], [%[s]], #4\n\t"                                                                      \
                     "sxtab16 %[b], %[off2], %[a], ror #8\n\t"                                                       \
                     "sxtab16 %[a], %[off2], %[a]\n\t"                                                               \
                     "strd %[a], %[b], [%[d]], #" #GS "\n\t"                                                         \
                     "subs %[n], %[n], #1\n\t"                                                                       \
                     "bne 1b\n\t"                                                                                    \
                     : [a] "=&r"(a), [b] "=&r"(b), [s] "+r"(s), [d] "+r"(d), [n] "+r"(n)                          \
                     : [off2] "r"(off2)                                                                            \
                     : "cc", "memory")
static void expand4(int16_t *d, const int8_t *s, int32_t n, uint32_t off2, int32_t gs)
{
    uint32_t a, b;
    switch (gs) {
    case 8: EXPAND4(16); break;
    case 16: EXPAND4(32); break;
    case 24: EXPAND4(48); break;
    default: EXPAND4(64); break;
    }
}

#define MAC_GROUP(X0, X1)                                                                                            \
    "ldr %[v], [%[w0]], #4\n\t"                                                                                      \
    "ldr %[u], [%[w1]], #4\n\t"                                                                                      \
    "ldrd %[" X0 "], %[" X1 "], [%[col]], #8\n\t"                                                                    \
    "sxtb16 %[t0], %[v]\n\t"                                                                                         \
    "sxtb16 %[v], %[v], ror #8\n\t"                                                                                  \
    "sxtb16 %[t1], %[u]\n\t"                                                                                         \
    "sxtb16 %[u], %[u], ror #8\n\t"                                                                                  \
    "smlad %[a00], %[" X0 "], %[t0], %[a00]\n\t"                                                                     \
    "smlad %[a00], %[" X1 "], %[v], %[a00]\n\t"                                                                      \
    "smlad %[a01], %[" X0 "], %[t1], %[a01]\n\t"                                                                     \
    "smlad %[a01], %[" X1 "], %[u], %[a01]\n\t"                                                                      \
    "ldrd %[" X0 "], %[" X1 "], [%[col]], #8\n\t"                                                                    \
    "smlad %[a10], %[" X0 "], %[t0], %[a10]\n\t"                                                                     \
    "smlad %[a10], %[" X1 "], %[v], %[a10]\n\t"                                                                      \
    "smlad %[a11], %[" X0 "], %[t1], %[a11]\n\t"                                                                     \
    "smlad %[a11], %[" X1 "], %[u], %[a11]\n\t"

/* 2 pixels x 2 output channels over ng groups of 4 of the interleaved columns (32-bit wrapping
 * accumulators, like the reference's g_wrap32). Returns the column pointer after the groups. */
static inline __attribute__((always_inline)) void mac2x2(const int16_t *col, const int8_t *w0, const int8_t *w1,
                                                         int32_t ng, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3], n2 = ng >> 1;
    uint32_t x0, x1, v, u, t0, t1;
    if (n2 > 0)
        __asm__ volatile("1:\n\t" MAC_GROUP("x0", "x1") MAC_GROUP("x0", "x1") "subs %[n], %[n], #1\n\t"
                                                                              "bne 1b\n\t"
                         : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [col] "+r"(col),
                           [w0] "+r"(w0), [w1] "+r"(w1), [n] "+r"(n2), [x0] "=&r"(x0), [x1] "=&r"(x1), [v] "=&r"(v),
                           [u] "=&r"(u), [t0] "=&r"(t0), [t1] "=&r"(t1)
                         :
                         : "cc", "memory");
    if (ng & 1)
        __asm__ volatile(MAC_GROUP("x0", "x1")
                         : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [col] "+r"(col),
                           [w0] "+r"(w0), [w1] "+r"(w1), [x0] "=&r"(x0), [x1] "=&r"(x1), [v] "=&r"(v), [u] "=&r"(u),
                           [t0] "=&r"(t0), [t1] "=&r"(t1)
                         :
                         : "memory");
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

typedef struct conv_args {
    g_conv_t g;         /* the layer's fields */
    int16_t *col;
    int32_t k, ng, ng4;
    uint32_t off2;      /* in_off in both halfwords */
    uint32_t pad4;      /* the byte -in_off four times (IC % 4 != 0 columns) */
    int32_t whole;      /* the asm may read 3 bytes past the last weight row (inside the model) */
    int32_t lim;        /* channel pairs the asm takes (the rest: C) */
    int32_t nx;         /* pixels per block of conv_blocks (4, 6, 8; 0: pairs only), as the scratch allows */
    int32_t fold;       /* the records' half holds half + (out_off << right): the asm adds no offset */
    const int8_t *crow; /* dead pairs (all-zero weights) exist: every channel's constant output, else NULL */
    const uint8_t *live; /* per asm channel pair: 0 = both channels dead */
    int32_t *rec;       /* per channel {multiplier, right shift, half (allfast) or mask, bias} for the asm */
} conv_args_t;

/* a few bytes, unaligned words first (runs of kw * ic bytes are short: 3, 9, ...); written out
 * so that GCC does not turn them into library calls */
static inline __attribute__((always_inline)) int8_t *copy_run(int8_t *d, const int8_t *s, int32_t n)
{
    for (; n >= 4; n -= 4, d += 4, s += 4)
        dsp_st32(d, dsp_ld32(s));
    if (n & 2) {
        d[0] = s[0], d[1] = s[1];
        d += 2, s += 2;
    }
    if (n & 1)
        *d++ = *s;
    return d;
}

static inline __attribute__((always_inline)) int8_t *fill_run(int8_t *d, uint32_t pad4, int32_t n)
{
    for (; n >= 4; n -= 4, d += 4)
        dsp_st32(d, pad4);
    if (n & 2) {
        d[0] = d[1] = (int8_t)pad4;
        d += 2;
    }
    if (n & 1)
        *d++ = (int8_t)pad4;
    return d;
}

/* ic % 4 == 0: expand one column (one output pixel's receptive field) into dst, each group of 4
 * as the two words [x0 x2][x1 x3], groups gs int16 apart (the other pixels' columns fill the
 * rest). A pixel with y0 far outside the image gives an all-padding (zero) column. */
static void fill_col4(int16_t *dst, const conv_args_t *a, int32_t y0, int32_t x0, int32_t gs)
{
    const int8_t *in = a->g.in;
    int32_t ky, kx, c, ih = a->g.ih, iw = a->g.iw, ic = a->g.ic, kh = a->g.kh, kw = a->g.kw, dh = a->g.dh;
    int32_t dw = a->g.dw;
    uint32_t off2 = a->off2;
    int16_t *d = dst;
    int rowfast = dw == 1 && x0 >= 0 && x0 + kw <= iw;
    for (ky = 0; ky < kh; ky++) {
        int32_t iy = y0 + dh * ky;
        if (rowfast && iy >= 0 && iy < ih) { /* the row's taps: one contiguous run of kw * ic bytes */
            expand4(d, in + ((size_t)iy * iw + x0) * ic, (kw * ic) >> 2, off2, gs);
            d += ((kw * ic) >> 2) * gs;
            continue;
        }
        for (kx = 0; kx < kw; kx++) {
            int32_t ix = x0 + dw * kx;
            const int8_t *s;
            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw) {
                for (c = 0; c < ic; c += 4, d += gs) {
                    dsp_st32(d, 0);
                    dsp_st32(d + 2, 0);
                }
                continue;
            }
            s = in + ((size_t)iy * iw + ix) * ic;
            expand4(d, s, ic >> 2, off2, gs);
            d += (ic >> 2) * gs;
        }
    }
}

/* Any ic (-in_off is an int8: the loader keeps in_off in [-127, 128], g_conv_check): the column's raw
 * bytes gathered in natural order into tmp (align4(k) + 4 bytes), out-of-image taps and the tail
 * of the last group as the byte -in_off (which the offset turns into 0, like the reference's
 * skipped taps), then each group of 4 expanded with SXTB16 / SADD16 straight into [x0 x2][x1 x3]. */
static void fill_col_bytes(int16_t *dst, int8_t *tmp, const conv_args_t *a, int32_t y0, int32_t x0, int32_t gs)
{
    int32_t ky, kx, ic = a->g.ic, kw = a->g.kw, iw = a->g.iw, run = kw * ic;
    uint32_t pad4 = a->pad4;
    int8_t *t = tmp;
    int rowfast = a->g.dw == 1 && x0 >= 0 && x0 + kw <= iw;
    if (rowfast && y0 >= 0 && y0 + a->g.dh * (a->g.kh - 1) < a->g.ih) { /* the whole patch is inside */
        const int8_t *s = a->g.in + ((size_t)y0 * iw + x0) * ic;
        size_t rstride = (size_t)a->g.dh * iw * ic;
        for (ky = a->g.kh; ky > 0; ky--, s += rstride)
            t = copy_run(t, s, run);
    } else
        for (ky = 0; ky < a->g.kh; ky++) {
            int32_t iy = y0 + a->g.dh * ky;
            if (iy < 0 || iy >= a->g.ih)
                t = fill_run(t, pad4, run);
            else if (rowfast) /* the row's taps are one contiguous run of kw * ic input bytes */
                t = copy_run(t, a->g.in + ((size_t)iy * iw + x0) * ic, run);
            else
                for (kx = 0; kx < kw; kx++) {
                    int32_t ix = x0 + a->g.dw * kx;
                    t = ix < 0 || ix >= iw ? fill_run(t, pad4, ic)
                                           : copy_run(t, a->g.in + ((size_t)iy * iw + ix) * ic, ic);
                }
        }
    dsp_st32(t, pad4); /* the last group's tail (< 4 bytes) */
    expand4(dst, tmp, a->ng4, a->off2, gs);
}

/* Requantize + output offset + activation. fast: dsp_rq_fast (checked per channel,
 * dsp_fast_chan) and the range [-128, 127] (one SSAT); else the exact general form and a clamp. */
static inline __attribute__((always_inline)) int8_t out8(int32_t acc, int32_t mult, int32_t shift, int32_t out_off,
                                                         int32_t lo, int32_t hi, int fast)
{
    if (fast)
        return (int8_t)__ssat(dsp_rq_fast(acc, mult, -shift) + out_off, 8);
    return (int8_t)dsp_clamp32(dsp_mbqm(acc, mult, shift) + out_off, lo, hi);
}

/* The 2 outputs (both pixels) of one channel with dsp_rq_fast, valid when dsp_fast_chan (else
 * overwritten by the caller). pm: the channel's multiplier (its shift is oc4 = 4*OC bytes
 * further), po: the first pixel's output (the second pixel's is OC bytes further). */
static inline __attribute__((always_inline)) void epi2_fast(int32_t a0, int32_t a1, const uint8_t *pm, int8_t *po,
                                                            int32_t oc, int32_t oc4, int32_t out_off)
{
    uint32_t m, r, hr, t, u;
    __asm__ volatile("ldr %[m], [%[pm]]\n\t"
                     "ldr %[r], [%[pm], %[oc4]]\n\t"
                     "rsb %[r], %[r], #0\n\t"
                     "mov %[hr], #1\n\t"
                     "lsl %[hr], %[hr], %[r]\n\t" EPI_FAST("a0", "strb %[u], [%[po]]")
                         EPI_FAST("a1", "strb %[u], [%[po], %[oc]]")
                     : [m] "=&r"(m), [r] "=&r"(r), [hr] "=&r"(hr), [t] "=&r"(t), [u] "=&r"(u)
                     : [a0] "r"(a0), [a1] "r"(a1), [pm] "r"(pm), [po] "r"(po), [oc] "r"(oc), [oc4] "r"(oc4),
                       [off] "r"(out_off)
                     : "memory");
}

static inline __attribute__((always_inline)) void epi2_exact(int32_t a0, int32_t a1, const uint8_t *pm, int8_t *po,
                                                             int32_t oc, int32_t oc4, int32_t out_off)
{
    uint32_t m, r, mask, lo, hi;
    __asm__ volatile("ldr %[m], [%[pm]]\n\t"
                     "ldr %[r], [%[pm], %[oc4]]\n\t"
                     "rsb %[r], %[r], #0\n\t"
                     "mvn %[mask], #0\n\t"
                     "lsl %[mask], %[mask], %[r]\n\t"
                     "mvn %[mask], %[mask]\n\t" EPI_EXACT("a0", "strb %[lo], [%[po]]")
                         EPI_EXACT("a1", "strb %[lo], [%[po], %[oc]]")
                     : [m] "=&r"(m), [r] "=&r"(r), [mask] "=&r"(mask), [lo] "=&r"(lo), [hi] "=&r"(hi)
                     : [a0] "r"(a0), [a1] "r"(a1), [pm] "r"(pm), [po] "r"(po), [oc] "r"(oc), [oc4] "r"(oc4),
                       [off] "r"(out_off)
                     : "memory");
}

/* ---- the whole channel loop of one pixel pair in assembly (allfast layers, IC % 4 == 0) ---- */
typedef struct mm2_args {
    const int16_t *col;    /* 0: interleaved columns of the two pixels */
    const int8_t *w;       /* 4: weights of output channel 0 (rows of k bytes) */
    int32_t k;             /* 8 */
    int32_t ng;            /* 12: groups of 4, >= 1 */
    const int32_t *rec;    /* 16: per channel {multiplier, right shift, half or mask, bias} */
    int32_t oc;            /* 20 */
    int8_t *out;           /* 24: first pixel's outputs (second pixel's: oc bytes further) */
    int32_t pairs;         /* 28: channel pairs to do (>= 1) */
    int32_t out_off;       /* 32 */
} mm2_args_t;

#define MM2_GROUP                                                                                                    \
    "ldr r10, [r5], #4\n\t"                                                                                          \
    "ldr r11, [r6], #4\n\t"                                                                                          \
    "ldrd r8, r9, [r4], #8\n\t"                                                                                      \
    "sxtb16 r12, r10\n\t"                                                                                            \
    "sxtb16 r10, r10, ror #8\n\t"                                                                                    \
    "sxtb16 lr, r11\n\t"                                                                                             \
    "sxtb16 r11, r11, ror #8\n\t"                                                                                    \
    "smlad r0, r8, r12, r0\n\t"                                                                                      \
    "smlad r0, r9, r10, r0\n\t"                                                                                      \
    "smlad r1, r8, lr, r1\n\t"                                                                                       \
    "smlad r1, r9, r11, r1\n\t"                                                                                      \
    "ldrd r8, r9, [r4], #8\n\t"                                                                                      \
    "smlad r2, r8, r12, r2\n\t"                                                                                      \
    "smlad r2, r9, r10, r2\n\t"                                                                                      \
    "smlad r3, r8, lr, r3\n\t"                                                                                       \
    "smlad r3, r9, r11, r3\n\t"

/* one channel of both pixels (accumulators A and B, outputs at r8 and r8 + r9, output offset
 * r10): its record at r4 {multiplier, right shift, half} -> dsp_rq_fast + SSAT; r4 ends on the
 * next record */
#define MM2_EPI1(A, STORE)                                                                                           \
    "lsl r12, " A ", #1\n\t"                                                                                         \
    "smmulr r12, r12, r6\n\t"                                                                                        \
    "add " A ", r12, lr\n\t"                                                                                         \
    "sub " A ", " A ", r12, lsr #31\n\t"                                                                             \
    "asr " A ", " A ", r11\n\t"                                                                                       \
    "add " A ", " A ", r10\n\t"                                                                                      \
    "ssat " A ", #8, " A "\n\t" STORE "\n\t"
#define MM2_EPI(A, B)                                                                                                \
    "ldm r4!, {r6, r11, lr}\n\t" MM2_EPI1(A, "strb " A ", [r8]") MM2_EPI1(B, "strb " B ", [r8, r9]")                  \
    "add r4, r4, #4\n\t"
/* the same, exact g_mbqm for shift <= 0 (record {multiplier, right shift, mask}) */
#define MM2_EPIX1(A, STORE)                                                                                          \
    "mov r12, #0x40000000\n\t"                                                                                       \
    "mov r5, #0\n\t"                                                                                                 \
    "smlal r12, r5, " A ", r6\n\t"                                                                                  \
    "lsr r12, r12, #31\n\t"                                                                                          \
    "orr r12, r12, r5, lsl #1\n\t"                                                                                   \
    "and r5, r12, lr\n\t"                                                                                            \
    "rsb r5, r5, lr, asr #1\n\t"                                                                                     \
    "add r5, r5, r12, lsr #31\n\t"                                                                                   \
    "asr r12, r12, r11\n\t"                                                                                          \
    "add r12, r12, r5, lsr #31\n\t"                                                                                  \
    "add r12, r12, r10\n\t"                                                                                          \
    "ssat r12, #8, r12\n\t" STORE "\n\t"
#define MM2_EPIX(A, B)                                                                                               \
    "ldm r4!, {r6, r11, lr}\n\t" MM2_EPIX1(A, "strb r12, [r8]") MM2_EPIX1(B, "strb r12, [r8, r9]")                    \
    "add r4, r4, #4\n\t"

/* For each channel pair: accumulators from the records' biases, the 2x2 SMLAD loop (4 groups per
 * trip), requantization + output offset + SSAT of the 4 outputs (EPI: MM2_EPI = dsp_rq_fast, for
 * layers whose computed channels all passed dsp_fast_chan; MM2_EPIX = exact, every shift <= 0),
 * activation range [-128, 127]. Frame: [0] pairs left, [4] record of the pair, [8] output,
 * [12] col, [16] this pair's weights, [20] ng, [24] k, [28] oc, [32] out_off (LDM order) (rows are k bytes
 * apart; the loop reads 4 * ng bytes of each, zero-padded columns beyond k). */
/* the frame of mm2_pairs and the pixel-block routines (same mm2_args_t): [0] pairs or channels,
 * [4] record, [8] output, [12] col, [16] weights; r3 = k, r4 = ng left for the caller to store */
#define MM_FRAME(SIZE)                                                                                               \
    "push {r4-r11, lr}\n\t"                                                                                          \
    "sub sp, sp, #" SIZE "\n\t"                                                                                     \
    "ldr r1, [r0, #28]\n\t"                                                                                          \
    "str r1, [sp, #0]\n\t"                                                                                           \
    "ldr r1, [r0, #16]\n\t"                                                                                          \
    "str r1, [sp, #4]\n\t"                                                                                           \
    "ldr r1, [r0, #24]\n\t"                                                                                          \
    "str r1, [sp, #8]\n\t"                                                                                           \
    "ldm r0, {r1, r2, r3, r4}\n\t"                                                                                   \
    "str r1, [sp, #12]\n\t"                                                                                          \
    "str r2, [sp, #16]\n\t"

#define MM2_BODY(EPI)                                                                                                \
    MM_FRAME("40")                                                                                                   \
    "str r4, [sp, #20]\n\t"                                                                                          \
    "str r3, [sp, #24]\n\t"                                                                                          \
    "ldr r1, [r0, #20]\n\t"                                                                                          \
    "str r1, [sp, #28]\n\t"                                                                                          \
    "ldr r1, [r0, #32]\n\t"                                                                                          \
    "str r1, [sp, #32]\n\t"                                                                                          \
    "1:\n\t"                                                                                                         \
    "add r12, sp, #12\n\t"                                                                                           \
    "ldm r12, {r4, r5, r7, r8}\n\t"                                                                                  \
    "add r6, r5, r8\n\t"                                                                                             \
    "add r9, r6, r8\n\t"                                                                                             \
    "str r9, [sp, #16]\n\t"                                                                                          \
    "ldr r8, [sp, #4]\n\t"                                                                                           \
    "ldr r0, [r8, #12]\n\t"                                                                                          \
    "ldr r1, [r8, #28]\n\t"                                                                                          \
    "mov r2, r0\n\t"                                                                                                 \
    "mov r3, r1\n\t"                                                                                                 \
    "tst r7, #1\n\t"                                                                                                 \
    "beq 2f\n\t" MM2_GROUP "2:\n\t"                                                                                  \
    "tst r7, #2\n\t"                                                                                                 \
    "beq 5f\n\t" MM2_GROUP MM2_GROUP "5:\n\t"                                                                        \
    "lsrs r7, r7, #2\n\t"                                                                                            \
    "beq 3f\n\t"                                                                                                     \
    "4:\n\t" MM2_GROUP MM2_GROUP MM2_GROUP MM2_GROUP "subs r7, r7, #1\n\t"                                           \
    "bne 4b\n\t"                                                                                                     \
    "3:\n\t"                                                                                                         \
    "ldr r4, [sp, #4]\n\t"                                                                                           \
    "ldr r8, [sp, #8]\n\t"                                                                                           \
    "ldr r9, [sp, #28]\n\t"                                                                                          \
    "ldr r10, [sp, #32]\n\t" EPI("r0", "r2") "add r8, r8, #1\n\t" EPI("r1", "r3") "add r8, r8, #1\n\t"               \
    "str r8, [sp, #8]\n\t"                                                                                           \
    "str r4, [sp, #4]\n\t"                                                                                           \
    "ldr r7, [sp, #0]\n\t"                                                                                           \
    "subs r7, r7, #1\n\t"                                                                                            \
    "str r7, [sp, #0]\n\t"                                                                                           \
    "bne 1b\n\t"                                                                                                     \
    "add sp, sp, #40\n\t"                                                                                            \
    "pop {r4-r11, pc}\n\t"

__attribute__((naked, noinline)) static void mm2_pairs(const mm2_args_t *a)
{
    (void)a;
    __asm__ volatile(MM2_BODY(MM2_EPI));
}

__attribute__((naked, noinline)) static void mm2_pairs_exact(const mm2_args_t *a)
{
    (void)a;
    __asm__ volatile(MM2_BODY(MM2_EPIX));
}

/* ---- N pixels x 1 output channel (N = 4, 6, 8), the whole channel loop of a pixel block in asm ----
 * The N columns are interleaved per group of 4 ([p0 g][p1 g] ... 8 bytes each, group stride 8N
 * bytes), so per group one weight LDR + 2 SXTB16 feed N LDRD + 2N SMLAD: 3 + 3N instructions
 * per 4N MACs (0.84 per MAC at N = 8, against 1.0 for the 2x2 block), with each weight word
 * loaded and sign-extended once per N pixels. Accumulators r0..r(N-1); r8/r9 a column pair,
 * r10/r11 the two sign-extended weight halves, r12 the column pointer, lr the weight pointer. The
 * group loop needs a counter: r7 for N <= 6; at N = 8 every register is taken, so the loop ends at
 * a sentinel word after the last group, 0x80008000 (two int16 -32768, which no column element
 * x + in_off in [-255, 255] can be). Same arguments as mm2_pairs, with pairs = channels. Frame:
 * [0] channels left, [4] record, [8] output, [12] col, [16] weights, [20] k - 4 * ng (from the
 * end of a row's groups to the next row), [24] oc, [28] out_off, [32] ng, [36] loop entry,
 * [40] trips. */
#define NX_SENTINEL 0x80008000u
#define NX_W "ldr r11, [lr], #4\n\tsxtb16 r10, r11\n\tsxtb16 r11, r11, ror #8\n\t"
#define NX_PIX(A) "ldrd r8, r9, [r12], #8\n\tsmlad " A ", r8, r10, " A "\n\tsmlad " A ", r9, r11, " A "\n\t"
#define NX_GROUP4 NX_W NX_PIX("r0") NX_PIX("r1") NX_PIX("r2") NX_PIX("r3")
#define NX_GROUP6 NX_GROUP4 NX_PIX("r4") NX_PIX("r5")
#define NX_GROUP8 NX_GROUP6 NX_PIX("r6") NX_PIX("r7")
/* the first group starts every accumulator from the bias in r0 (SMLAD's addend), pixel 0 last */
#define NX_PIX1(A, OFF) "ldrd r8, r9, [r12, #" OFF "]\n\tsmlad " A ", r8, r10, r0\n\tsmlad " A ", r9, r11, " A "\n\t"
#define NX_PIX0(GS) "ldrd r8, r9, [r12], #" GS "\n\tsmlad r0, r8, r10, r0\n\tsmlad r0, r9, r11, r0\n\t"
#define NX_FIRST4 NX_W NX_PIX1("r1", "8") NX_PIX1("r2", "16") NX_PIX1("r3", "24") NX_PIX0("32")
#define NX_FIRST6 NX_W NX_PIX1("r1", "8") NX_PIX1("r2", "16") NX_PIX1("r3", "24") NX_PIX1("r4", "32")            \
    NX_PIX1("r5", "40") NX_PIX0("48")
#define NX_FIRST8 NX_W NX_PIX1("r1", "8") NX_PIX1("r2", "16") NX_PIX1("r3", "24") NX_PIX1("r4", "32")            \
    NX_PIX1("r5", "40") NX_PIX1("r6", "48") NX_PIX1("r7", "56") NX_PIX0("64")
/* the groups after the first (FIRST), 4 per trip: the first trip enters at the group that leaves a
 * multiple of 4 (its address, chosen once per call, at [36]; none left: the end, 18); trips counted
 * in r7 (N <= 6, [40] = ceil((ng - 1) / 4)) or up to the sentinel (N = 8). MOV PC ignores bit 0
 * (ARMv7-M BranchWritePC). */
#define NX_LOOP_COUNTED(G)                                                                                           \
    "ldr r7, [sp, #40]\n\t"                                                                                          \
    "ldr r8, [sp, #36]\n\t"                                                                                          \
    "mov pc, r8\n\t"                                                                                                 \
    "14:\n\t" G "15:\n\t" G "16:\n\t" G "17:\n\t" G "subs r7, r7, #1\n\t"                                            \
    "bne 14b\n\t"                                                                                                    \
    "18:\n\t"
#define NX_LOOP_SENTINEL(G)                                                                                          \
    "ldr r8, [sp, #36]\n\t"                                                                                          \
    "mov pc, r8\n\t"                                                                                                 \
    "14:\n\t" G "15:\n\t" G "16:\n\t" G "17:\n\t" G "ldr r8, [r12]\n\t"                                              \
    "cmp r8, #0x80008000\n\t"                                                                                        \
    "bne 14b\n\t"                                                                                                    \
    "18:\n\t"
/* requantization of accumulator A in place (record in r8 multiplier, r9 right shift, r10 half or
 * mask; r11 output offset; r12 scratch): NX_EPI = dsp_rq_fast + SSAT as MM2_EPI1 with the output
 * offset folded into the rounding constant (conv_args_t.fold), NX_EPIX = the exact g_mbqm as
 * MM2_EPIX1 with SMULL + 2^30 in place of SMLAL (A is its own high word) */
#define NX_EPI(A)                                                                                                    \
    "lsl r12, " A ", #1\n\t"                                                                                         \
    "smmulr r12, r12, r8\n\t"                                                                                        \
    "add " A ", r12, r10\n\t"                                                                                        \
    "sub " A ", " A ", r12, lsr #31\n\t"                                                                             \
    "asr " A ", " A ", r9\n\t"                                                                                       \
    "ssat " A ", #8, " A "\n\t"
#define NX_EPIX(A)                                                                                                   \
    "smull r12, " A ", " A ", r8\n\t"                                                                                \
    "adds r12, r12, #0x40000000\n\t"                                                                                 \
    "adc " A ", " A ", #0\n\t"                                                                                       \
    "lsr r12, r12, #31\n\t"                                                                                          \
    "orr r12, r12, " A ", lsl #1\n\t"                                                                                \
    "and " A ", r12, r10\n\t"                                                                                        \
    "rsb " A ", " A ", r10, asr #1\n\t"                                                                              \
    "add " A ", " A ", r12, lsr #31\n\t"                                                                             \
    "asr r12, r12, r9\n\t"                                                                                           \
    "add r12, r12, " A ", lsr #31\n\t"                                                                               \
    "add r12, r12, r11\n\t"                                                                                          \
    "ssat " A ", #8, r12\n\t"
/* pixel i's output is i * oc bytes after pixel 0's (lr; r0 = oc once pixel 0 is stored): register
 * offsets oc, 2oc, 4oc from r0 and 3oc, 5oc, 6oc, 7oc from accumulators already stored */
#define NX_REST4(E)                                                                                                  \
    E("r1") "strb r1, [lr, r0]\n\t" E("r2") "strb r2, [lr, r0, lsl #1]\n\t" E("r3")                                 \
    "add r1, r0, r0, lsl #1\n\tstrb r3, [lr, r1]\n\t"
#define NX_REST6(E)                                                                                                  \
    NX_REST4(E) E("r4") "strb r4, [lr, r0, lsl #2]\n\t" E("r5") "add r2, r0, r0, lsl #2\n\tstrb r5, [lr, r2]\n\t"
#define NX_REST8(E)                                                                                                  \
    NX_REST6(E) E("r6") "strb r6, [lr, r1, lsl #1]\n\t" E("r7") "rsb r3, r0, r0, lsl #3\n\tstrb r7, [lr, r3]\n\t"
#define NX_BODY(FIRST, LOOP, E, REST)                                                                                 \
    MM_FRAME("48")                                                                                                   \
    "sub r3, r3, r4, lsl #2\n\t"                                                                                     \
    "str r3, [sp, #20]\n\t"                                                                                          \
    "str r4, [sp, #32]\n\t"                                                                                          \
    "ldr r1, [r0, #20]\n\t"                                                                                          \
    "str r1, [sp, #24]\n\t"                                                                                          \
    "ldr r1, [r0, #32]\n\t"                                                                                          \
    "str r1, [sp, #28]\n\t"                                                                                          \
    "sub r4, r4, #1\n\t"                                                                                             \
    "and r1, r4, #3\n\t"                                                                                             \
    "adr r2, 14f\n\t"                                                                                                \
    "cmp r1, #1\n\t"                                                                                                 \
    "bne 21f\n\t"                                                                                                    \
    "adr r2, 17f\n\t"                                                                                                \
    "21:\n\t"                                                                                                        \
    "cmp r1, #2\n\t"                                                                                                 \
    "bne 22f\n\t"                                                                                                    \
    "adr r2, 16f\n\t"                                                                                                \
    "22:\n\t"                                                                                                        \
    "cmp r1, #3\n\t"                                                                                                 \
    "bne 23f\n\t"                                                                                                    \
    "adr r2, 15f\n\t"                                                                                                \
    "23:\n\t"                                                                                                        \
    "cmp r4, #0\n\t"                                                                                                 \
    "bne 24f\n\t"                                                                                                    \
    "adr r2, 18f\n\t"                                                                                                \
    "24:\n\t"                                                                                                        \
    "str r2, [sp, #36]\n\t"                                                                                          \
    "add r4, r4, #3\n\t"                                                                                             \
    "lsr r4, r4, #2\n\t"                                                                                             \
    "str r4, [sp, #40]\n\t"                                                                                          \
    "1:\n\t"                                                                                                         \
    "ldr r12, [sp, #4]\n\t"                                                                                          \
    "ldr r0, [r12, #12]\n\t"                                                                                         \
    "ldr r12, [sp, #12]\n\t"                                                                                         \
    "ldr lr, [sp, #16]\n\t" FIRST LOOP "ldr r8, [sp, #20]\n\t"                                                       \
    "add lr, lr, r8\n\t"                                                                                             \
    "str lr, [sp, #16]\n\t"                                                                                          \
    "ldr r12, [sp, #4]\n\t"                                                                                          \
    "ldm r12, {r8, r9, r10}\n\t"                                                                                     \
    "add r12, r12, #16\n\t"                                                                                          \
    "str r12, [sp, #4]\n\t"                                                                                          \
    "ldr r11, [sp, #28]\n\t"                                                                                         \
    "ldr lr, [sp, #8]\n\t" E("r0") "strb r0, [lr]\n\t"                                                               \
    "ldr r0, [sp, #24]\n\t" REST(E) "add lr, lr, #1\n\t"                                                             \
    "str lr, [sp, #8]\n\t"                                                                                           \
    "ldr r0, [sp, #0]\n\t"                                                                                           \
    "subs r0, r0, #1\n\t"                                                                                            \
    "str r0, [sp, #0]\n\t"                                                                                           \
    "bne 1b\n\t"                                                                                                     \
    "add sp, sp, #48\n\t"                                                                                            \
    "pop {r4-r11, pc}\n\t"
#define NX_ROUTINE(NAME, FIRST, LOOP, E, REST)                                                                        \
    __attribute__((naked, noinline)) static void NAME(const mm2_args_t *a)                                           \
    {                                                                                                                \
        (void)a;                                                                                                     \
        __asm__ volatile(NX_BODY(FIRST, LOOP, E, REST));                                                              \
    }
NX_ROUTINE(mm4x1, NX_FIRST4, NX_LOOP_COUNTED(NX_GROUP4), NX_EPI, NX_REST4)
NX_ROUTINE(mm4x1_exact, NX_FIRST4, NX_LOOP_COUNTED(NX_GROUP4), NX_EPIX, NX_REST4)
NX_ROUTINE(mm6x1, NX_FIRST6, NX_LOOP_COUNTED(NX_GROUP6), NX_EPI, NX_REST6)
NX_ROUTINE(mm6x1_exact, NX_FIRST6, NX_LOOP_COUNTED(NX_GROUP6), NX_EPIX, NX_REST6)
NX_ROUTINE(mm8x1, NX_FIRST8, NX_LOOP_SENTINEL(NX_GROUP8), NX_EPI, NX_REST8)
NX_ROUTINE(mm8x1_exact, NX_FIRST8, NX_LOOP_SENTINEL(NX_GROUP8), NX_EPIX, NX_REST8)

/* m->pairs channels of one block of n pixels */
static void mmnx(const mm2_args_t *m, int32_t n, int allfast)
{
    if (n == 8)
        allfast ? mm8x1(m) : mm8x1_exact(m);
    else if (n == 6)
        allfast ? mm6x1(m) : mm6x1_exact(m);
    else
        allfast ? mm4x1(m) : mm4x1_exact(m);
}

/* One block of n pixels from pixel p: the columns for the whole block, then every channel (pruned
 * pairs' constants, the live pairs' runs and an odd last channel) by mmnx. */
static void conv_block(const conv_args_t *a, mm2_args_t *m, int32_t p, int32_t n, int allfast)
{
    int32_t oc = a->g.oc, i, q, r, gs = 4 * n;
    int16_t *col = a->col;
    int8_t *tmp = (int8_t *)(col + 4 * a->nx * m->ng + 4), *out0 = a->g.out + (size_t)p * oc;
    for (i = 0; i < n; i++) {
        int32_t y = ((p + i) / a->g.ow) * a->g.sh - a->g.pt, x = ((p + i) % a->g.ow) * a->g.sw - a->g.pl;
        if ((a->g.ic & 3) == 0)
            fill_col4(col + 4 * i, a, y, x, gs);
        else
            fill_col_bytes(col + 4 * i, tmp, a, y, x, gs);
    }
    if (!a->crow) {
        m->w = a->g.w, m->rec = a->rec, m->out = out0, m->pairs = oc;
        mmnx(m, n, allfast);
        return;
    }
    for (i = 0; i < n; i++)
        copy_run(out0 + (size_t)i * oc, a->crow, oc);
    for (q = 0; q < a->lim;) {
        while (q < a->lim && !a->live[q])
            q++;
        for (r = q; r < a->lim && a->live[r]; r++)
            ;
        if (r > q) {
            m->w = a->g.w + (size_t)2 * q * a->k, m->rec = a->rec + 8 * q, m->out = out0 + 2 * q;
            m->pairs = 2 * (r - q);
            mmnx(m, n, allfast);
        }
        q = r;
    }
    if (oc & 1) {
        m->w = a->g.w + (size_t)(oc - 1) * a->k, m->rec = a->rec + 4 * (oc - 1), m->out = out0 + oc - 1;
        m->pairs = 1;
        mmnx(m, n, allfast);
    }
}

/* Blocks of a->nx pixels, then of 6 and 4 while enough pixels are left (the columns of a smaller
 * block fit where the larger ones were). Returns the first pixel not done (at most 3 are left:
 * conv_layer's pairs). */
static int32_t conv_blocks(const conv_args_t *a, int allfast)
{
    int32_t n = a->nx, npix = a->g.oh * a->g.ow, p = 0;
    mm2_args_t m;
    m.col = a->col, m.k = a->k, m.ng = (a->k + 3) >> 2, m.oc = a->g.oc, m.out_off = a->fold ? 0 : a->g.out_off;
    if (n == 8)
        dsp_st32(a->col + 32 * m.ng, NX_SENTINEL);
    for (; n >= 4; n -= 2)
        for (; p + n <= npix; p += n)
            conv_block(a, &m, p, n, allfast);
    return p;
}

/* The whole layer. fast: activation range [-128, 127] and every shift <= 0: full blocks are
 * requantized in asm, by epi2_fast when every channel passed dsp_fast_chan (allfast), else by
 * epi2_exact; the last odd pixel and an odd last channel in C (out8). */
static inline __attribute__((always_inline)) void conv_layer(const conv_args_t *a, int fast, uint32_t bound,
                                                             int allfast)
{
    static const uint8_t lane[4] = {0, 2, 1, 3};
    /* ngp groups of 4 in the columns (the last one zero padded when k % 4 != 0); the asm loop
     * reads whole weight words, so a padded group would read up to 3 bytes of the next row: it
     * only takes channel pairs that are followed by another row (lim), the rest is done here with
     * the whole groups (nfull) and the last k - 4 * nfull elements one by one. */
    int32_t npix = a->g.oh * a->g.ow, p, o, j, k = a->k, oc = a->g.oc, ngp = (k + 3) >> 2;
    int32_t nfull = k >> 2, nt = k - 4 * nfull, lim = a->lim;
    int32_t out_off = a->g.out_off, lo = a->g.lo, hi = a->g.hi, acc[4];
    int16_t *col = a->col, *last = col + 8 * nfull;
    int grouped = (a->g.ic & 3) == 0;
    p = fast && a->nx ? conv_blocks(a, allfast) : 0;
    for (; p < npix; p += 2) {
        int two = p + 1 < npix;
        /* an odd last pixel goes through the asm as the second pixel of a pair whose first column is
         * all padding; both pixels' outputs then land on the same bytes, the real one last */
        int solo = !two && fast && lim > 0, sw = solo ? 2 : 0;
        int8_t *out0 = a->g.out + (size_t)p * oc, *out1 = out0 + oc;
        int32_t y0 = (p / a->g.ow) * a->g.sh - a->g.pt, x0 = (p % a->g.ow) * a->g.sw - a->g.pl;
        int32_t y1 = two ? ((p + 1) / a->g.ow) * a->g.sh - a->g.pt : -(1 << 24);
        int32_t x1 = ((p + 1) % a->g.ow) * a->g.sw - a->g.pl;
        if (solo) {
            y1 = y0, x1 = x0, y0 = -(1 << 24);
        }
        const int8_t *w0 = a->g.w;
        const uint8_t *pb = a->g.bias, *pm = a->g.mul, *ps = a->g.shf;
        if (grouped) {
            fill_col4(col, a, y0, x0, 8);
            fill_col4(col + 4, a, y1, x1, 8);
        } else {
            int8_t *tmp = (int8_t *)(col + 8 * ngp);
            fill_col_bytes(col, tmp, a, y0, x0, 8);
            fill_col_bytes(col + 4, tmp, a, y1, x1, 8);
        }
        o = 0;
        if (fast && lim > 0) {
            mm2_args_t m2;
            m2.col = col, m2.w = w0, m2.k = k, m2.ng = ngp, m2.rec = a->rec, m2.out = out0, m2.oc = two ? oc : 0;
            m2.pairs = lim, m2.out_off = a->fold ? 0 : out_off;
            if (a->crow) {
                /* pruned channels: their constant, then the runs of live pairs over it */
                int32_t q = 0, r;
                copy_run(out0, a->crow, 2 * lim);
                if (two)
                    copy_run(out1, a->crow, 2 * lim);
                while (q < lim) {
                    while (q < lim && !a->live[q])
                        q++;
                    for (r = q; r < lim && a->live[r]; r++)
                        ;
                    if (r > q) {
                        m2.w = w0 + (size_t)2 * q * k, m2.rec = a->rec + 8 * q, m2.out = out0 + 2 * q, m2.pairs = r - q;
                        if (allfast)
                            mm2_pairs(&m2);
                        else
                            mm2_pairs_exact(&m2);
                    }
                    q = r;
                }
            } else if (allfast)
                mm2_pairs(&m2);
            else
                mm2_pairs_exact(&m2);
            o = 2 * lim;
            w0 += (size_t)o * k, pb += 4 * o, pm += 4 * o, ps += 4 * o;
        }
        for (; o < oc; o += 2, w0 += 2 * k, pb += 8, pm += 8, ps += 8) {
            int32_t m, sh, f, pair = o + 1 < oc;
            const int8_t *w1 = pair ? w0 + k : w0;
            acc[0] = acc[2] = dsp_ldi32(pb);
            acc[1] = acc[3] = pair ? dsp_ldi32(pb + 4) : acc[0];
            if (nfull)
                mac2x2(col, w0, w1, nfull, acc);
            for (j = 0; j < nt; j++) { /* wraps like SMLAD */
                int32_t c0 = last[lane[j]], c1 = last[4 + lane[j]], e = 4 * nfull + j;
                acc[0] = (int32_t)((uint32_t)acc[0] + (uint32_t)(c0 * w0[e]));
                acc[1] = (int32_t)((uint32_t)acc[1] + (uint32_t)(c0 * w1[e]));
                acc[2] = (int32_t)((uint32_t)acc[2] + (uint32_t)(c1 * w0[e]));
                acc[3] = (int32_t)((uint32_t)acc[3] + (uint32_t)(c1 * w1[e]));
            }
            if (fast && two && pair) {
                if (allfast) {
                    epi2_fast(acc[0], acc[2], pm, out0 + o, oc, 4 * oc, out_off);
                    epi2_fast(acc[1], acc[3], pm + 4, out0 + o + 1, oc, 4 * oc, out_off);
                } else {
                    epi2_exact(acc[0], acc[2], pm, out0 + o, oc, 4 * oc, out_off);
                    epi2_exact(acc[1], acc[3], pm + 4, out0 + o + 1, oc, 4 * oc, out_off);
                }
                continue;
            }
            for (j = 0; j < 1 + pair; j++) {
                m = dsp_ldi32(pm + 4 * j);
                sh = dsp_ldi32(ps + 4 * j);
                f = fast && dsp_fast_chan(dsp_ldi32(pb + 4 * j), sh, bound);
                out0[o + j] = out8(acc[sw + j], m, sh, out_off, lo, hi, f);
                if (two)
                    out1[o + j] = out8(acc[2 + j], m, sh, out_off, lo, hi, f);
            }
        }
    }
}

static int zero_row(const int8_t *w, int32_t k)
{
    int32_t i = 0;
    for (; i + 16 <= k; i += 16) /* a pruned row is read whole: 4 words per test */
        if (dsp_ld32(w + i) | dsp_ld32(w + i + 4) | dsp_ld32(w + i + 8) | dsp_ld32(w + i + 12))
            return 0;
    for (; i + 4 <= k; i += 4)
        if (dsp_ld32(w + i))
            return 0;
    for (; i < k; i++)
        if (w[i])
            return 0;
    return 1;
}

int emc_dsp_conv2d(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    conv_args_t a;
    int32_t o;
    uint32_t bound;
    size_t cols;
    int allfast;
    a.g = g_conv_get(x);
    a.k = a.g.kh * a.g.kw * a.g.ic;
    a.ng = a.k >> 2;
    a.ng4 = (a.k + 3) >> 2;
    a.off2 = ((uint32_t)a.g.in_off & 0xFFFFu) * 0x10001u;
    a.pad4 = ((uint32_t)(-a.g.in_off) & 0xFFu) * 0x01010101u;
    a.whole = (size_t)(a.g.w - (const int8_t *)x->m->kmodel) + (size_t)a.g.oc * a.k + 3u <= x->m->kmodel_size;
    a.col = (int16_t *)(void *)x->m->scratch;
    cols = (size_t)((a.k + 3) & ~3) * ((a.g.ic & 3) ? 6u : 4u); /* a multiple of 8 */
    if (cols + 18u * (size_t)a.g.oc > x->m->scratch_size)
        return 0;
    /* the widest pixel block whose columns (+ sentinel, + the raw-byte column when IC % 4 != 0)
     * fit in the scratch the loader reserved (the arena stays the formula's); the asm reads whole
     * weight words, so K % 4 != 0 needs the bytes after the last row to be inside the model */
    a.nx = 0, a.fold = 0;
    if (!(a.k & 3) || a.whole) {
        size_t ngp = (size_t)a.ng4, raw = (a.g.ic & 3) ? ((size_t)a.k + 4u + 7u) & ~(size_t)7u : 0u;
        int32_t n;
        for (n = 8; n >= 4 && !a.nx; n -= 2) {
            size_t need = 8u * (size_t)n * ngp + (n == 8 || raw ? 8u : 0u) + raw;
            if (need + 18u * (size_t)a.g.oc <= x->m->scratch_size) {
                a.nx = n;
                cols = need > cols ? need : cols;
            }
        }
    }
    a.rec = (int32_t *)(void *)(x->m->scratch + cols);
    for (o = 0; o < a.g.oc; o++)
        if (!dsp_rq_exact(dsp_ldi32(a.g.mul + 4u * o), dsp_ldi32(a.g.shf + 4u * o)))
            return 0;
    a.lim = (a.k & 3) && !a.whole ? (a.g.oc - 1) >> 1 : a.g.oc >> 1;
    /* Pairs of channels whose weights are all zero (pruned) compute nothing: their outputs are
     * the requantized bias at every pixel, kept in a row of oc bytes after the columns. */
    {
        int8_t *crow = (int8_t *)(void *)(x->m->scratch + cols + 16u * (size_t)a.g.oc);
        uint8_t *live = (uint8_t *)(crow + a.g.oc);
        int32_t ndead = 0;
        for (o = 0; o < a.lim; o++) {
            const int8_t *w2 = a.g.w + (size_t)2 * o * a.k;
            live[o] = (uint8_t)!(zero_row(w2, a.k) && zero_row(w2 + a.k, a.k));
            ndead += !live[o];
        }
        for (o = 0; o < a.g.oc; o++)
            crow[o] = (int8_t)dsp_clamp32(dsp_mbqm(dsp_ldi32(a.g.bias + 4u * o), dsp_ldi32(a.g.mul + 4u * o),
                                                   dsp_ldi32(a.g.shf + 4u * o)) + a.g.out_off, a.g.lo, a.g.hi);
        a.crow = ndead ? crow : NULL;
        a.live = live;
    }
    bound = dsp_fast_bound((uint64_t)a.k * 32640u); /* |x + in_off| <= 255, |w| <= 128 */
    allfast = 1;
    for (o = 0; o < a.g.oc; o++) /* the channels that are computed (dead pairs are not) */
        if (o >= 2 * a.lim || a.live[o >> 1])
            allfast &= dsp_fast_chan(dsp_ldi32(a.g.bias + 4u * o), dsp_ldi32(a.g.shf + 4u * o), bound);
    for (o = 0; o < a.g.oc; o++)
        if (dsp_ldi32(a.g.shf + 4u * o) > 0)
            break;
    if (a.g.lo == -128 && a.g.hi == 127 && o == a.g.oc) {
        allfast = allfast && bound != 0;
        /* (h + half + (out_off << r)) >> r = ((h + half) >> r) + out_off (floor division), no
         * overflow while |h| < 2^29 and r <= 21: |half + (out_off << r)| <= 2^20 + 2^28 */
        for (o = 0; o < a.g.oc; o++) /* and the asm's fast epilogues want it: else the exact ones */
            allfast &= -dsp_ldi32(a.g.shf + 4u * o) <= 21;
        a.fold = allfast;
        for (o = 0; o < a.g.oc; o++) { /* the asm's per-channel records */
            int32_t r = -dsp_ldi32(a.g.shf + 4u * o); /* 0..31 */
            a.rec[4 * o] = dsp_ldi32(a.g.mul + 4u * o);
            a.rec[4 * o + 1] = r;
            a.rec[4 * o + 2] = allfast ? (r >= 1 ? (int32_t)(1u << (r - 1)) : 0) : (int32_t)~(~0u << r);
            if (a.fold)
                a.rec[4 * o + 2] += (int32_t)((uint32_t)a.g.out_off << r);
            a.rec[4 * o + 3] = dsp_ldi32(a.g.bias + 4u * o);
        }
        if (allfast)
            conv_layer(&a, 1, bound, 1);
        else
            conv_layer(&a, 1, bound, 0);
    } else
        conv_layer(&a, 0, 0, 0);
    emc_out_main(x, emc_f(b, CF_OUT), (size_t)a.g.oh * a.g.ow * a.g.oc, EMC_DT_I8);
    return 1;
}
#else
typedef int emc_dsp_conv2d_unused; /* ISO C: no empty translation unit */
#endif
