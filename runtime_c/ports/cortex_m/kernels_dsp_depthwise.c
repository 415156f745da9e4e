/* GENERIC_DEPTHWISE_CONV2D on the Cortex-M DSP extension (bit-exact with
 * kernels/generic/g_depthwise_conv2d.c), depth multiplier 1 (others: portable kernel).
 * NHWC keeps 4 channels in one word: per tap one input word and one weight word, SXTB16 /
 * SXTB16 ROR 8 to halfword pairs, SMLABB / SMLATT into 4 per-channel accumulators.
 * Per layer the weights are regrouped in the arena's CPU scratch ((17 + 2*KH*KW) * C bytes): per group
 * of 4 channels, bias + input_offset * sum(weights) (the accumulator start of a pixel whose taps
 * are all inside the image: then sum w*(x+off) = that + sum w*x), the group's weights of every
 * tap already sign-extended ([w0 w2], [w1 w3]: one LDRD), then per channel its multiplier, right
 * shift and rounding half, so the 3x3 asm reads everything sequentially (one routine per pixel,
 * fast requantization). Border pixels of a 3x3 layer run the same asm with a pointer per tap,
 * out-of-image taps pointing at a row of C bytes of -in_off after the blocks: x + in_off = 0
 * there, as the reference's skipped taps. Other border pixels add the offset per tap (SADD16) and
 * skip out-of-image taps as the reference does. */
#include "emc_dsp.h"

#if defined(EMC_USE_DSP) && EMC_USE_DSP
#include "../../kernels/generic/g_conv_common.h"

/* WA, WB: the tap's 4 weights already sign-extended, [w0 w2] and [w1 w3] (the block's pair) */
#define DW_TAP(V, WA, WB)                                                                                            \
    do {                                                                                                             \
        uint32_t v_ = (V), xa_ = __sxtb16(v_), xb_ = dsp_sxtb16_ror8(v_);                                            \
        uint32_t wa_ = (WA), wb_ = (WB);                                                                             \
        a0 = __smlabb(xa_, wa_, a0);                                                                                 \
        a2 = __smlatt(xa_, wa_, a2);                                                                                 \
        a1 = __smlabb(xb_, wb_, a1);                                                                                 \
        a3 = __smlatt(xb_, wb_, a3);                                                                                 \
    } while (0)

typedef struct dw_args {
    g_conv_t g;          /* the layer's fields (depth multiplier 1: IC = OC) */
    const uint32_t *blk; /* per group: 4 start accumulators, the taps' weights, requantization constants */
    const int8_t *pad;   /* C bytes of -in_off (border taps of the 3x3 asm) */
} dw_args_t;

/* ---- 3x3 pixels, every group, dsp_rq_fast epilogue: asm ----
 * Both routines leave their args untouched (the caller reuses them pixel after pixel); a frame
 * [args, groups left, po] at sp. After a group's tap weights its block holds, per channel, the
 * multiplier, the right shift and half of its power of two: one LDM per output. */
typedef struct dw33_args {
    int32_t groups;        /* 0: groups of 4 channels (>= 1) */
    int8_t *po;            /* 4: outputs of the first group */
    int32_t rs, cs, cs2;   /* 8, 12, 16: input bytes between tap rows, tap columns, two columns */
    int32_t out_off;       /* 20 */
    const uint32_t *blk;   /* 24: first group's block */
    const int8_t *in;      /* 28: first group's top-left input tap */
} dw33_args_t;

/* border pixels: one input pointer per tap (an out-of-image tap points at the pad row, C bytes
 * of -in_off, which the start accumulator's in_off * sum(w) cancels) */
typedef struct dw33t_args {
    int32_t groups;        /* 0 */
    int8_t *po;            /* 4 */
    int32_t out_off;       /* 8 */
    const uint32_t *blk;   /* 12 */
    const int8_t *tap[9];  /* 16: first channel of each tap, row-major */
} dw33t_args_t;

#define DW33_MAC                                                                                                     \
    "ldrd r12, r10, [r4], #8\n\t"                                                                                    \
    "sxtb16 r11, r9\n\t"                                                                                             \
    "sxtb16 r9, r9, ror #8\n\t"                                                                                      \
    "smlabb r0, r11, r12, r0\n\t"                                                                                    \
    "smlatt r2, r11, r12, r2\n\t"                                                                                    \
    "smlabb r1, r9, r10, r1\n\t"                                                                                     \
    "smlatt r3, r9, r10, r3\n\t"
#define DW33_TAP(ADDR) "ldr r9, " ADDR "\n\t" DW33_MAC
#define DW33T_TAP(OFF) "ldr r9, [lr, #" OFF "]\n\t" "ldr r9, [r9, r5]\n\t" DW33_MAC

/* dsp_rq_fast + output offset + SSAT + store to r8 + J; constants from the block (r4). The 3x3
 * blocks hold doubled weights and start accumulators, so A is already the 2 * acc that SMMULR
 * takes, and the rounding constant holds half + (out_off << right) (dw_fold): 2 instructions
 * fewer per output than dsp_rq_fast + offset */
#define DW33_EPI(A, J)                                                                                               \
    "ldm r4!, {r9, r10, r11}\n\t"                                                                                    \
    "smmulr r12, " A ", r9\n\t"                                                                                      \
    "add " A ", r12, r11\n\t"                                                                                        \
    "sub " A ", " A ", r12, lsr #31\n\t"                                                                             \
    "asr " A ", " A ", r10\n\t"                                                                                      \
    "ssat " A ", #8, " A "\n\t"                                                                                      \
    "strb " A ", [r8, #" J "]\n\t"

#define DW33_PROLOGUE(OFF_BLK)                                                                                       \
    "push {r4-r11, lr}\n\t"                                                                                          \
    "sub sp, sp, #16\n\t"                                                                                            \
    "str r0, [sp, #0]\n\t"                                                                                           \
    "ldr r1, [r0, #0]\n\t"                                                                                           \
    "str r1, [sp, #4]\n\t"                                                                                           \
    "ldr r1, [r0, #4]\n\t"                                                                                           \
    "str r1, [sp, #8]\n\t"                                                                                           \
    "ldr r4, [r0, #" OFF_BLK "]\n\t"
/* the 4 outputs of the group (r8: po from the frame), then the next group or return */
#define DW33_GROUP_END                                                                                               \
    DW33_EPI("r0", "0") DW33_EPI("r1", "1") DW33_EPI("r2", "2") DW33_EPI("r3", "3")                                   \
    "add r8, r8, #4\n\t"                                                                                             \
    "str r8, [sp, #8]\n\t"                                                                                           \
    "ldr r9, [sp, #4]\n\t"                                                                                           \
    "subs r9, r9, #1\n\t"                                                                                            \
    "str r9, [sp, #4]\n\t"                                                                                           \
    "bne 1b\n\t"                                                                                                     \
    "add sp, sp, #16\n\t"                                                                                            \
    "pop {r4-r11, pc}\n\t"

__attribute__((naked, noinline)) static void dw33_pixel(const dw33_args_t *a)
{
    (void)a;
    __asm__ volatile(DW33_PROLOGUE("24") "ldr r5, [r0, #28]\n\t"
                     "1:\n\t"
                     "ldr r12, [sp, #0]\n\t"
                     "ldr r6, [r12, #8]\n\t"
                     "ldr r7, [r12, #12]\n\t"
                     "ldr r8, [r12, #16]\n\t"
                     "ldm r4!, {r0-r3}\n\t"
                     "mov lr, r5\n\t" DW33_TAP("[lr]") DW33_TAP("[lr, r7]") DW33_TAP("[lr, r8]")
                     "add lr, lr, r6\n\t" DW33_TAP("[lr]") DW33_TAP("[lr, r7]") DW33_TAP("[lr, r8]")
                     "add lr, lr, r6\n\t" DW33_TAP("[lr]") DW33_TAP("[lr, r7]") DW33_TAP("[lr, r8]")
                     "add r5, r5, #4\n\t"
                     "ldr r8, [sp, #8]\n\t" DW33_GROUP_END);
}

__attribute__((naked, noinline)) static void dw33t_pixel(const dw33t_args_t *a)
{
    (void)a;
    __asm__ volatile(DW33_PROLOGUE("12") "mov r5, #0\n\t"
                     "1:\n\t"
                     "ldr lr, [sp, #0]\n\t"
                     "ldm r4!, {r0-r3}\n\t" DW33T_TAP("16") DW33T_TAP("20") DW33T_TAP("24") DW33T_TAP("28")
                         DW33T_TAP("32") DW33T_TAP("36") DW33T_TAP("40") DW33T_TAP("44") DW33T_TAP("48")
                     "add r5, r5, #4\n\t"
                     "ldr r8, [sp, #8]\n\t" DW33_GROUP_END);
}

static inline __attribute__((always_inline)) void dw_layer(const dw_args_t *a, int mode)
{
    int32_t ih = a->g.ih, iw = a->g.iw, ch = a->g.oc, kh = a->g.kh, kw = a->g.kw, dh = a->g.dh, dw = a->g.dw;
    int32_t out_off = a->g.out_off, lo = a->g.lo, hi = a->g.hi, in_off = a->g.in_off;
    size_t rstep = (size_t)dh * iw * ch, cstep = (size_t)dw * ch, wrow = (size_t)kw * ch;
    uint32_t off2 = ((uint32_t)in_off & 0xFFFFu) * 0x10001u;
    int32_t oy, ox, c, ky, kx, j, g4 = ch & ~3, oc4 = 4 * ch;
    int k33 = kh == 3 && kw == 3, asm33 = mode == 2 && k33 && g4 == ch;
    dw33_args_t di;  /* interior pixels (asm33): only the input and output pointers change */
    dw33t_args_t dt; /* border pixels (asm33 with a pad row): the tap pointers too */
    di.groups = dt.groups = g4 >> 2;
    di.out_off = dt.out_off = out_off, di.blk = dt.blk = a->blk;
    di.rs = (int32_t)rstep, di.cs = (int32_t)cstep, di.cs2 = 2 * (int32_t)cstep;
    for (oy = 0; oy < a->g.oh; oy++) {
        int32_t y0 = oy * a->g.sh - a->g.pt, ky0 = 0, ky1 = kh;
        int rowin = y0 >= 0 && y0 + dh * (kh - 1) < ih;
        while (ky0 < kh && y0 + dh * ky0 < 0)
            ky0++;
        while (ky1 > ky0 && y0 + dh * (ky1 - 1) >= ih)
            ky1--;
        for (ox = 0; ox < a->g.ow; ox++) {
            int32_t x0 = ox * a->g.sw - a->g.pl, kx0 = 0, kx1 = kw;
            int8_t *po = a->g.out + ((size_t)oy * a->g.ow + ox) * ch;
            const int8_t *pin, *pw;
            if (asm33) {
                if (rowin && x0 >= 0 && x0 + 2 * dw < iw) {
                    di.po = po, di.in = a->g.in + ((size_t)y0 * iw + x0) * ch;
                    dw33_pixel(&di);
                    continue;
                }
                for (ky = 0, j = 0; ky < 3; ky++) /* border: a pointer per tap */
                    for (kx = 0; kx < 3; kx++, j++) {
                        int32_t iy = y0 + dh * ky, ix = x0 + dw * kx;
                        dt.tap[j] = iy < 0 || iy >= ih || ix < 0 || ix >= iw ? a->pad
                                                                             : a->g.in + ((size_t)iy * iw + ix) * ch;
                    }
                dt.po = po;
                dw33t_pixel(&dt);
                continue;
            }
            while (kx0 < kw && x0 + dw * kx0 < 0)
                kx0++;
            while (kx1 > kx0 && x0 + dw * (kx1 - 1) >= iw)
                kx1--;
            pin = a->g.in + ((size_t)(y0 + dh * ky0) * iw + (x0 + dw * kx0)) * ch;
            pw = a->g.w + ((size_t)ky0 * kw + kx0) * ch;
            if (ky0 == 0 && ky1 == kh && kx0 == 0 && kx1 == kw) {
                /* interior: start from the block's bias + offset * sum(w), raw inputs */
                if (mode == 2 && k33 && g4) {
                    di.po = po, di.in = pin;
                    dw33_pixel(&di);
                } else {
                    const uint32_t *bk = a->blk;
                    for (c = 0; c < g4; c += 4) {
                        int32_t a0 = (int32_t)bk[0], a1 = (int32_t)bk[1], a2 = (int32_t)bk[2], a3 = (int32_t)bk[3];
                        const int8_t *ri = pin + c;
                        bk += 4;
                        for (ky = 0; ky < kh; ky++, ri += rstep) {
                            const int8_t *ti = ri;
                            for (kx = 0; kx < kw; kx++, ti += cstep, bk += 2)
                                DW_TAP(dsp_ld32(ti), bk[0], bk[1]);
                        }
                        bk += 12; /* the group's requantization constants (asm epilogue) */
                        dsp_out1(po + c, a0, a->g.mul + 4u * c, oc4, out_off, lo, hi, mode);
                        dsp_out1(po + c + 1, a1, a->g.mul + 4u * c + 4u, oc4, out_off, lo, hi, mode);
                        dsp_out1(po + c + 2, a2, a->g.mul + 4u * c + 8u, oc4, out_off, lo, hi, mode);
                        dsp_out1(po + c + 3, a3, a->g.mul + 4u * c + 12u, oc4, out_off, lo, hi, mode);
                    }
                }
            } else {
                for (c = 0; c < g4; c += 4) {
                    int32_t a0 = dsp_ldi32(a->g.bias + 4u * c), a1 = dsp_ldi32(a->g.bias + 4u * c + 4u);
                    int32_t a2 = dsp_ldi32(a->g.bias + 4u * c + 8u), a3 = dsp_ldi32(a->g.bias + 4u * c + 12u);
                    const int8_t *ri = pin + c, *rw = pw + c;
                    for (ky = ky0; ky < ky1; ky++, ri += rstep, rw += wrow) {
                        const int8_t *ti = ri, *tw = rw;
                        for (kx = kx0; kx < kx1; kx++, ti += cstep, tw += ch) {
                            uint32_t v = dsp_ld32(ti), wv = dsp_ld32(tw);
                            uint32_t xa = __sadd16(__sxtb16(v), off2), xb = __sadd16(dsp_sxtb16_ror8(v), off2);
                            uint32_t wa = __sxtb16(wv), wb = dsp_sxtb16_ror8(wv);
                            a0 = __smlabb(xa, wa, a0);
                            a2 = __smlatt(xa, wa, a2);
                            a1 = __smlabb(xb, wb, a1);
                            a3 = __smlatt(xb, wb, a3);
                        }
                    }
                    dsp_out1(po + c, a0, a->g.mul + 4u * c, oc4, out_off, lo, hi, mode);
                    dsp_out1(po + c + 1, a1, a->g.mul + 4u * c + 4u, oc4, out_off, lo, hi, mode);
                    dsp_out1(po + c + 2, a2, a->g.mul + 4u * c + 8u, oc4, out_off, lo, hi, mode);
                    dsp_out1(po + c + 3, a3, a->g.mul + 4u * c + 12u, oc4, out_off, lo, hi, mode);
                }
            }
            for (c = g4; c < ch; c++) {
                int32_t acc = dsp_ldi32(a->g.bias + 4u * c);
                const int8_t *ri = pin + c, *rw = pw + c;
                for (ky = ky0; ky < ky1; ky++, ri += rstep, rw += wrow)
                    for (j = 0; j < kx1 - kx0; j++)
                        acc = (int32_t)((uint32_t)acc +
                                        (uint32_t)(rw[(size_t)j * ch] * (ri[(size_t)j * cstep] + in_off)));
                dsp_out1(po + c, acc, a->g.mul + 4u * c, oc4, out_off, lo, hi, mode);
            }
        }
    }
}

int emc_dsp_depthwise_conv2d(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    dw_args_t a;
    int32_t o, j, ntap, oc = (int32_t)emc_f(b, CF_OC);
    uint32_t *blk = (uint32_t *)(void *)x->m->scratch;
    uint32_t bound;
    int fast, dbl;

    if (emc_f(b, CF_DM) != 1u ||
        (size_t)oc * (17u + 2u * emc_f(b, CF_KH) * emc_f(b, CF_KW)) > x->m->scratch_size)
        return 0;
    a.g = g_conv_get(x);
    a.blk = blk;
    ntap = a.g.kh * a.g.kw;
    /* the pad row after the blocks (-in_off is an int8: the loader keeps in_off in [-127, 128]) */
    a.pad = (int8_t *)(void *)x->m->scratch + (size_t)oc * (16u + 2u * (uint32_t)ntap);
    memset((void *)a.pad, (int8_t)(-a.g.in_off), (size_t)oc);
    for (o = 0; o < oc; o++)
        if (!dsp_rq_exact(dsp_ldi32(a.g.mul + 4u * o), dsp_ldi32(a.g.shf + 4u * o)))
            return 0;
    /* per group of 4 channels: bias + in_off * sum(w), then the weight word of each tap */
    bound = dsp_fast_bound((uint64_t)ntap * 32640u); /* |x + in_off| <= 255, |w| <= 128 */
    fast = a.g.lo == -128 && a.g.hi == 127 && bound != 0;
    for (o = 0; o < oc; o++)
        if (!dsp_fast_chan(dsp_ldi32(a.g.bias + 4u * o), dsp_ldi32(a.g.shf + 4u * o), bound))
            fast = 0;
    /* 3x3 fast layers run the asm only (dw_layer mode 2), whose epilogue takes doubled
     * accumulators and the output offset folded into the rounding constant:
     * (h + half + (out_off << r)) >> r = ((h + half) >> r) + out_off while r <= 21 (no overflow:
     * |h| < 2^29); a larger shift takes the exact C epilogue (mode 1) */
    dbl = fast && a.g.kh == 3 && a.g.kw == 3;
    for (o = 0; dbl && o < oc; o++)
        if (-dsp_ldi32(a.g.shf + 4u * o) > 21)
            fast = dbl = 0;
    for (o = 0; o < (oc & ~3); o += 4) {
        uint32_t *bk = blk + (size_t)(o >> 2) * (16u + 2u * (uint32_t)ntap), s02 = 0, s13 = 0;
        for (j = 0; j < ntap; j++) { /* doubled: 2w in [-256, 254] is still an int16 */
            uint32_t wv = dsp_ld32(a.g.w + (size_t)j * oc + o), lo2 = __sxtb16(wv), hi2 = dsp_sxtb16_ror8(wv);
            bk[4 + 2 * j] = dbl ? (uint32_t)__sadd16(lo2, lo2) : lo2;
            bk[5 + 2 * j] = dbl ? (uint32_t)__sadd16(hi2, hi2) : hi2;
            s02 = (uint32_t)__sadd16(s02, lo2), s13 = (uint32_t)__sadd16(s13, hi2); /* sum(w) per channel */
        }
        for (j = 0; j < 4; j++) {
            /* the halfword sums are exact up to 256 taps (|sum| <= 32768) */
            uint32_t l = j & 1 ? s13 : s02;
            int32_t sw8 = (int16_t)(j & 2 ? l >> 16 : l & 0xFFFFu), bv = dsp_ldi32(a.g.bias + 4u * (o + j)), t;
            if (ntap > 256)
                for (t = 0, sw8 = 0; t < ntap; t++)
                    sw8 += a.g.w[(size_t)t * oc + o + j];
            bk[j] = ((uint32_t)bv + (uint32_t)(sw8 * a.g.in_off)) << dbl;
        }
        for (j = 0; j < 4; j++) { /* multiplier, right shift, half its power of two (fast form) */
            int32_t r = -dsp_ldi32(a.g.shf + 4u * (o + j));
            uint32_t half = r >= 1 && r <= 31 ? 1u << (r - 1) : 0u;
            bk[4 + 2 * ntap + 3 * j] = (uint32_t)dsp_ldi32(a.g.mul + 4u * (o + j));
            bk[5 + 2 * ntap + 3 * j] = (uint32_t)r;
            bk[6 + 2 * ntap + 3 * j] = dbl ? half + ((uint32_t)a.g.out_off << r) : half;
        }
    }
    for (o = 0; o < oc; o++)
        if (dsp_ldi32(a.g.shf + 4u * o) > 0)
            break;
    if (fast)
        dw_layer(&a, 2);
    else if (a.g.lo == -128 && a.g.hi == 127 && o == oc)
        dw_layer(&a, 1);
    else
        dw_layer(&a, 0);
    emc_out_main(x, emc_f(b, CF_OUT), (size_t)a.g.oh * a.g.ow * oc, EMC_DT_I8);
    return 1;
}
#else
typedef int emc_dsp_depthwise_conv2d_unused; /* ISO C: no empty translation unit */
#endif
