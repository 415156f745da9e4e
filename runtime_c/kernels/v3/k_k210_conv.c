/* K210_CONV (10240): a software model of one KPU layer (spec sections 4.3, 5, 6, 8.20), the
 * same arithmetic as the Python reference (emc/kmodel/kpu.py). The model itself is
 * emc_kpu_conv_sw (k_k210_conv.h), also used by the hardware-port stand-in of the tests.
 *
 * conv (1x1 or 3x3, stride 1, "same", optional depthwise) with the arg_x/arg_w/arg_add offset
 * terms applied per input channel, each shifted before the channels are summed (what matches
 * the hardware-verified Maix-EMC CIFAR-10 output) -> per-channel batch norm (24-bit signed multiplier) -> 16-segment piece-wise linear
 * activation with a rounding shift -> pooling (types 0..9) -> KPU RAM (row layout of the output
 * width) and, with KLF_MAIN_MEM_OUT, a dense CHW copy in main memory.
 *
 * All integer arithmetic is 64-bit and wraps (two's complement) instead of overflowing, so a
 * hostile file cannot trigger undefined behaviour; real files never come near the limits.
 * A hardware port (emc_port_t.k210_conv) may run the layer instead.
 *
 * Maps are addressed with the layout the registers give (coef_group / row_switch_addr /
 * channel_switch_addr, and the wb_* triple for the output), validated to hold the width.
 *
 * Scratch (per layer, from the arena): int64 acc[H*W], int64 x_term[H*W], u8 act[H*W],
 * u8 pooled[OC*H_out*W_out].
 */
#include "emc_internal.h"
#include "k_k210_conv.h"
#if defined(EMC_USE_DSP) && EMC_USE_DSP
#include "../../ports/cortex_m/emc_dsp.h"
#endif

enum { F_FLAGS, F_MAIN_OUT, F_LAYER, F_WEIGHTS, F_BN, F_ACT, N_FIELDS };

/* Decoded registers. */
typedef struct conv_regs {
    uint32_t dw, src, dst, ic, oc, w, h, ow, oh, k, pool, pad_value;
    int64_t arg_x, arg_w, arg_add;
    uint32_t shr_x, shr_w;
    uint32_t in_group, in_row_switch, in_chan_switch, out_group, out_row_switch, out_chan_switch;
    uint32_t chan_bytes, total_bytes;
} conv_regs_t;

static emc_kpu_layout_t reg_layout(uint32_t groups, uint32_t row_len, uint32_t chan_rows)
{
    emc_kpu_layout_t l;
    l.groups = groups;
    l.row_len = row_len;
    l.row_pitch = groups ? 64u / groups : 64u;
    l.chan_rows = chan_rows;
    return l;
}

/* The layout registers must be usable: group 1/2/4, non-zero strides, a row wide enough. */
static int layout_ok(emc_kpu_layout_t l, uint32_t w)
{
    if (l.groups != 1 && l.groups != 2 && l.groups != 4)
        return 0;
    if (l.row_len == 0 || l.chan_rows == 0)
        return 0;
    return l.row_len * 64u / l.groups >= w && (l.groups == 1 || l.row_len == 1);
}

static uint64_t bits(uint64_t v, unsigned lo, unsigned n) { return (v >> lo) & ((1ull << n) - 1ull); }

static int64_t sext(uint64_t v, unsigned n)
{
    uint64_t m = 1ull << (n - 1);
    return (int64_t)((v ^ m) - m);
}

static int64_t wmul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
static int64_t wadd(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

static void decode(const uint8_t *r, conv_regs_t *g)
{
    uint64_t w[12];
    int i;
    for (i = 0; i < 12; i++)
        w[i] = emc_rd64(r + 8 * i);
    g->dw = (uint32_t)bits(w[0], 3, 1);
    g->src = (uint32_t)bits(w[1], 0, 15);
    g->dst = (uint32_t)bits(w[1], 32, 15);
    g->ic = (uint32_t)bits(w[2], 0, 10) + 1;
    g->oc = (uint32_t)bits(w[2], 32, 10) + 1;
    g->w = (uint32_t)bits(w[3], 0, 10) + 1;
    g->h = (uint32_t)bits(w[3], 10, 9) + 1;
    g->ow = (uint32_t)bits(w[3], 32, 10) + 1;
    g->oh = (uint32_t)bits(w[3], 42, 9) + 1;
    g->k = (uint32_t)bits(w[4], 0, 3);
    g->pool = (uint32_t)bits(w[4], 4, 4);
    g->pad_value = (uint32_t)bits(w[4], 24, 8);
    g->in_chan_switch = (uint32_t)bits(w[7], 0, 15);
    g->in_row_switch = (uint32_t)bits(w[7], 16, 4);
    g->in_group = (uint32_t)bits(w[7], 28, 3);
    g->out_chan_switch = (uint32_t)bits(w[8], 0, 15);
    g->out_row_switch = (uint32_t)bits(w[8], 16, 4);
    g->out_group = (uint32_t)bits(w[8], 20, 3);
    g->shr_w = (uint32_t)bits(w[9], 0, 4);
    g->shr_x = (uint32_t)bits(w[9], 4, 4);
    g->arg_w = sext(bits(w[9], 8, 24), 24);
    g->arg_x = sext(bits(w[9], 32, 24), 24);
    g->arg_add = sext(bits(w[10], 0, 40), 40);
    g->chan_bytes = (uint32_t)bits(w[11], 16, 16);
    g->total_bytes = (uint32_t)bits(w[11], 32, 32);
}

/* Pooling geometry per pool_type (spec 6.4): filter, stride, and for the "pick" types the
 * selected tap. */
static const uint8_t pool_filter[10] = {1, 2, 2, 4, 4, 2, 2, 4, 2, 2};
static const uint8_t pool_stride[10] = {1, 2, 2, 4, 4, 2, 2, 4, 1, 1};

static uint64_t weight_count(const conv_regs_t *g)
{
    uint64_t kk = g->k == 1 ? 9u : 1u;
    return (g->dw ? (uint64_t)g->oc : (uint64_t)g->ic * g->oc) * kk;
}

static size_t scratch_bytes(const conv_regs_t *g)
{
    size_t hw = (size_t)g->w * g->h;
    return 16u * hw + ((hw + 7u) & ~(size_t)7u) + (size_t)g->oc * g->ow * g->oh;
}

/* Absolute file offset `off` with `len` bytes must lie in this body; returns body-relative. */
static emc_status_t sub_block(emc_check_t *c, uint32_t field, uint32_t off, uint64_t len)
{
    if (off < c->b->offset)
        return emc_fail(c, EMC_E_BODY, field);
    return emc_chk_tail(c, field, (uint64_t)off - c->b->offset, len) ? emc_fail(c, EMC_E_BODY, field) : EMC_OK;
}

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    conv_regs_t g;
    emc_kpu_layout_t li, lo;
    uint32_t i, wbytes = (c->flags & 1u) ? 1u : 2u;
    if (emc_f(b, F_FLAGS) & ~1u)
        return emc_fail(c, EMC_E_BODY, F_FLAGS);
    const uint8_t *act;

    if (sub_block(c, F_LAYER, emc_f(b, F_LAYER), 96))
        return c->err.status;
    decode(b->p + (emc_f(b, F_LAYER) - b->offset), &g);
    /* Register fields are reported at the register block: field index relative to the body. */
#define REG_FAIL() emc_fail(c, EMC_E_BODY, (emc_f(b, F_LAYER) - b->offset) / 4u)
    if (g.k > 1 || g.pool > 9)
        return REG_FAIL();
    if (g.dw && g.ic != g.oc)
        return REG_FAIL();
    if (g.w < pool_stride[g.pool] || g.h < pool_stride[g.pool] || g.ow != g.w / pool_stride[g.pool] ||
        g.oh != g.h / pool_stride[g.pool])
        return REG_FAIL();
    li = reg_layout(g.in_group, g.in_row_switch, g.in_chan_switch);
    lo = reg_layout(g.out_group, g.out_row_switch, g.out_chan_switch);
    if (!layout_ok(li, g.w) || !layout_ok(lo, g.ow))
        return REG_FAIL();
    if (sub_block(c, F_WEIGHTS, emc_f(b, F_WEIGHTS), weight_count(&g) * wbytes) ||
        sub_block(c, F_BN, emc_f(b, F_BN), (uint64_t)g.oc * 8u) || sub_block(c, F_ACT, emc_f(b, F_ACT), 144))
        return c->err.status;
    act = b->p + (emc_f(b, F_ACT) - b->offset);
    for (i = 0; i < 16; i++)
        if (act[8 * i] > 63) /* a rounding shift of 64+ bits is undefined on int64 */
            return emc_fail(c, EMC_E_BODY, F_ACT);
    if (emc_chk_kpu(c, F_LAYER, g.src, emc_kpu_extent(li, g.w, g.h, g.ic)) ||
        emc_chk_kpu(c, F_LAYER, g.dst, emc_kpu_extent(lo, g.ow, g.oh, g.oc)))
        return c->err.status;
    if (emc_f(b, F_FLAGS) & 1u) {
        if (g.total_bytes != g.ow * g.oh * g.oc - 1) /* the DMA length the SDK programs */
            return REG_FAIL();
        if (emc_chk_main(c, F_MAIN_OUT, emc_f(b, F_MAIN_OUT), (uint64_t)g.ow * g.oh * g.oc))
            return c->err.status;
        emc_set_out(c, 0, emc_f(b, F_MAIN_OUT), g.ow * g.oh * g.oc, EMC_DT_U8);
    } else {
        emc_set_out(c, 1, g.dst * EMC_KPU_ROW_BYTES, g.ow * g.oh * g.oc, EMC_DT_U8);
    }
    c->out.rank = 3;
    c->out.shape[0] = g.oc;
    c->out.shape[1] = g.oh;
    c->out.shape[2] = g.ow;
#undef REG_FAIL
    emc_need_scratch(c, scratch_bytes(&g));
    if (b->index == 0) { /* kpu_run_kmodel: u8 CHW input scattered at image_src_addr */
        c->input_kind = EMC_IN_KPU;
        c->input_kpu_row = g.src;
        c->input_layout[0] = li.groups;
        c->input_layout[1] = li.row_len;
        c->input_layout[2] = li.row_pitch;
        c->input_layout[3] = li.chan_rows;
        c->input.dtype = EMC_DT_U8;
        c->input.size = (size_t)g.ic * g.h * g.w;
        c->input.rank = 3;
        c->input.shape[0] = g.ic;
        c->input.shape[1] = g.h;
        c->input.shape[2] = g.w;
    }
    return EMC_OK;
}

/* Rounding right shift of the activation step: round half up, floor((v >> (s-1) + 1) / 2)
 * (the KPU's rounding; equals kpu_carry_shift for v >= 0). */
static int64_t act_shift(int64_t v, uint32_t s)
{
    int64_t t;
    if (s == 0)
        return v;
    t = v >> (s - 1);
    return (t >> 1) + (t & 1);
}

/* One output channel through BN and activation into `act` (H*W u8). */
static void bn_act(const conv_regs_t *g, const int64_t *conv, uint8_t *out, uint64_t bn_word, const uint8_t *at)
{
    int64_t mul = sext(bits(bn_word, 0, 24), 24), add = sext(bits(bn_word, 24, 32), 32);
    uint32_t shift = (uint32_t)bits(bn_word, 56, 4);
    int64_t xs[16], ym[16];
    uint32_t sh[16];
    uint8_t bias[16];
    size_t i, n = (size_t)g->w * g->h;
    int s;
    for (s = 0; s < 16; s++) {
        uint64_t a = emc_rd64(at + 8 * s);
        sh[s] = (uint32_t)bits(a, 0, 8);
        ym[s] = sext(bits(a, 8, 16), 16);
        xs[s] = sext(bits(a, 24, 36), 36);
        bias[s] = at[128 + s]; /* bias0 then bias1: bytes 128..143 */
    }
    for (i = 0; i < n; i++) {
        int64_t v = wadd(wmul(conv[i], mul) >> shift, add), y;
        /* highest segment whose start is strictly below v; none -> segment 0 */
        for (s = 15; s > 0; s--)
            if (v > xs[s])
                break;
        y = wadd(act_shift(wmul(v - xs[s], ym[s]), sh[s]), bias[s]);
        out[i] = (uint8_t)(y < 0 ? 0 : y > 255 ? 255 : y);
    }
}

static void pool(const conv_regs_t *g, const uint8_t *in, uint8_t *out)
{
    int32_t w = (int32_t)g->w, h = (int32_t)g->h, f = pool_filter[g->pool], st = pool_stride[g->pool];
    int32_t oy, ox, ky, kx;
    for (oy = 0; oy < (int32_t)g->oh; oy++)
        for (ox = 0; ox < (int32_t)g->ow; ox++) {
            int32_t y0 = oy * st, x0 = ox * st;
            uint32_t v = 0;
            switch (g->pool) {
            case 0:
                v = in[y0 * w + x0];
                break;
            case 1: case 3: case 9: /* max; out-of-image taps count as 0 */
                for (ky = 0; ky < f; ky++)
                    for (kx = 0; kx < f; kx++) {
                        int32_t y = y0 + ky, x = x0 + kx;
                        uint32_t t = (y < h && x < w) ? in[y * w + x] : 0u;
                        v = t > v ? t : v;
                    }
                break;
            case 2: case 4: case 8: /* mean, indices clamped to the edge, truncating */
                for (ky = 0; ky < f; ky++)
                    for (kx = 0; kx < f; kx++) {
                        int32_t y = y0 + ky < h ? y0 + ky : h - 1, x = x0 + kx < w ? x0 + kx : w - 1;
                        v += in[y * w + x];
                    }
                v /= (uint32_t)(f * f);
                break;
            default: /* 5, 7: left-top pick; 6: right-top pick */
            {
                int32_t x = x0 + (g->pool == 6 ? 1 : 0);
                v = (x < w) ? in[y0 * w + x] : 0u;
                break;
            }
            }
            *out++ = (uint8_t)v;
        }
}

size_t emc_kpu_conv_sw_scratch(const uint8_t *regs)
{
    conv_regs_t g;
    decode(regs, &g);
    return scratch_bytes(&g);
}

const uint8_t *emc_kpu_conv_sw(const uint8_t *regs, const uint8_t *wts, const uint8_t *bn, const uint8_t *at,
                               int eight, uint8_t *kpu, uint32_t kpu_lo, void *scratch)
{
    conv_regs_t g;
    int kk, pad;
    size_t hw, o_hw;
    int64_t *acc, *xterm;
    uint8_t *actbuf, *pooled;
    const uint8_t *in_base;
    uint32_t o, ic, ky, kx, y, xx, ksz;
    emc_kpu_layout_t li;
#if defined(EMC_USE_DSP) && EMC_USE_DSP
    int dsp32, pad33;
    uint8_t *padded;
#endif

    decode(regs, &g);
    hw = (size_t)g.w * g.h;
    o_hw = (size_t)g.ow * g.oh;
    acc = (int64_t *)scratch;
    xterm = acc + hw;
    actbuf = (uint8_t *)(xterm + hw);
    pooled = actbuf + ((hw + 7u) & ~(size_t)7u);
    in_base = kpu + ((size_t)g.src - kpu_lo) * EMC_KPU_ROW_BYTES;
    li = reg_layout(g.in_group, g.in_row_switch, g.in_chan_switch);
    ksz = g.k == 1 ? 3u : 1u;
    kk = (int)(ksz * ksz);
    pad = g.k == 1 ? 1 : 0;
#if defined(EMC_USE_DSP) && EMC_USE_DSP
    { /* every sum below 2^31 and every weight below 2^15: the DSP path's 32-bit sums are exact */
        uint64_t maxw = 255u, n = (uint64_t)(g.dw ? 1u : g.ic) * (uint64_t)kk;
        if (!eight) {
            size_t i, nw = (size_t)g.oc * (g.dw ? 1u : g.ic) * (size_t)kk;
            maxw = 0;
            for (i = 0; i < nw; i++) {
                uint32_t v = (uint32_t)(wts[2 * i] | (wts[2 * i + 1] << 8));
                maxw = v > maxw ? v : maxw;
            }
        }
        dsp32 = maxw < 32768u && 255u * maxw * n < ((uint64_t)1 << 31);
        /* 3x3: a padded copy of each input channel fits in the int64 acc's upper half (the 32-bit
         * sums use the lower half; + 1 byte: the window sums read one word past the last tap) */
        pad33 = ksz == 3u && (size_t)(g.w + 2u) * (g.h + 2u) + 1u <= hw * sizeof(int32_t);
        padded = (uint8_t *)(void *)((int32_t *)(void *)acc + hw);
    }
#endif

    for (o = 0; o < g.oc; o++) {
        uint32_t ic0 = g.dw ? o : 0, ic1 = g.dw ? o + 1 : g.ic;
        int64_t term_w = 0;
        size_t i;
        /* x_term[p] = sum over the group's input channels of (arg_x * window_sum) >> shr_x; it
         * does not depend on o unless depthwise, so a normal conv computes it once. */
        if (g.dw || o == 0) {
            memset(xterm, 0, hw * sizeof *xterm);
#if defined(EMC_USE_DSP) && EMC_USE_DSP
            if (pad33) /* window sums of the padded channel: 3 USADA8 per pixel */
                for (ic = ic0; ic < ic1; ic++) {
                    emc_dsp_kpu_pad(padded, in_base + (size_t)(ic / li.groups) * li.chan_rows * 64u +
                                                (size_t)(ic % li.groups) * li.row_pitch,
                                    (size_t)li.row_len * 64u, g.w, g.h, g.pad_value);
                    for (y = 0; y < g.h; y++)
                        for (xx = 0; xx < g.w; xx++) {
                            int64_t sx = dsp_win33(padded + (size_t)y * (g.w + 2u) + xx, g.w + 2u);
                            xterm[(size_t)y * g.w + xx] =
                                wadd(xterm[(size_t)y * g.w + xx], wmul(g.arg_x, sx) >> g.shr_x);
                        }
                }
            else
#endif
            for (ic = ic0; ic < ic1; ic++) {
                const uint8_t *chan = in_base + (size_t)(ic / li.groups) * li.chan_rows * 64u +
                                      (size_t)(ic % li.groups) * li.row_pitch;
                for (y = 0; y < g.h; y++)
                    for (xx = 0; xx < g.w; xx++) {
                        int64_t sx = 0;
                        for (ky = 0; ky < ksz; ky++)
                            for (kx = 0; kx < ksz; kx++) {
                                int32_t iy = (int32_t)(y + ky) - pad, ix = (int32_t)(xx + kx) - pad;
                                sx += (iy >= 0 && iy < (int32_t)g.h && ix >= 0 && ix < (int32_t)g.w)
                                          ? chan[(size_t)iy * li.row_len * 64u + (size_t)ix]
                                          : (int64_t)g.pad_value;
                            }
                        xterm[(size_t)y * g.w + xx] = wadd(xterm[(size_t)y * g.w + xx], wmul(g.arg_x, sx) >> g.shr_x);
                    }
            }
        }
#if defined(EMC_USE_DSP) && EMC_USE_DSP
        if (dsp32) { /* Cortex-M DSP: 32-bit sums (exact: dsp32 bounds them), widened below */
            int32_t *acc32 = (int32_t *)(void *)acc;
            uint32_t wv[9];
            memset(acc32, 0, hw * sizeof *acc32);
            for (ic = ic0; ic < ic1; ic++) {
                const uint8_t *chan = in_base + (size_t)(ic / li.groups) * li.chan_rows * 64u +
                                      (size_t)(ic % li.groups) * li.row_pitch;
                size_t widx = ((g.dw ? (size_t)o : (size_t)o * g.ic + ic) * (size_t)kk);
                int64_t sum_w = 0;
                int t;
                for (t = 0; t < kk; t++) {
                    size_t wi = widx + (size_t)t;
                    wv[t] = eight ? wts[wi] : (uint32_t)(wts[2 * wi] | (wts[2 * wi + 1] << 8));
                    sum_w += wv[t];
                }
                if (pad33) {
                    emc_dsp_kpu_pad(padded, chan, (size_t)li.row_len * 64u, g.w, g.h, g.pad_value);
                    emc_dsp_kpu_acc33(acc32, padded, g.w, g.h, wv);
                } else
                    emc_dsp_kpu_acc(acc32, chan, (size_t)li.row_len * 64u, g.w, g.h, ksz, pad, wv, g.pad_value);
                term_w = wadd(term_w, wmul(g.arg_w, sum_w) >> g.shr_w);
            }
            for (i = hw; i-- > 0;)
                acc[i] = acc32[i];
        } else
#endif
        {
        memset(acc, 0, hw * sizeof *acc);
        for (ic = ic0; ic < ic1; ic++) {
            const uint8_t *chan = in_base + (size_t)(ic / li.groups) * li.chan_rows * 64u +
                                  (size_t)(ic % li.groups) * li.row_pitch;
            size_t widx = ((g.dw ? (size_t)o : (size_t)o * g.ic + ic) * (size_t)kk);
            int64_t sum_w = 0;
            for (ky = 0; ky < ksz; ky++)
                for (kx = 0; kx < ksz; kx++) {
                    size_t wi = widx + ky * ksz + kx;
                    int64_t wv = eight ? wts[wi] : (int64_t)(wts[2 * wi] | (wts[2 * wi + 1] << 8));
                    int32_t dy = (int32_t)ky - pad, dx = (int32_t)kx - pad;
                    sum_w += wv;
                    for (y = 0; y < g.h; y++) {
                        int32_t sy = (int32_t)y + dy;
                        int64_t *arow = acc + (size_t)y * g.w;
                        const uint8_t *irow = (sy >= 0 && sy < (int32_t)g.h) ? chan + (size_t)sy * li.row_len * 64u : NULL;
                        for (xx = 0; xx < g.w; xx++) {
                            int32_t sx = (int32_t)xx + dx;
                            int64_t v = (irow && sx >= 0 && sx < (int32_t)g.w) ? irow[sx] : (int64_t)g.pad_value;
                            arow[xx] += v * wv;
                        }
                    }
                }
            term_w = wadd(term_w, wmul(g.arg_w, sum_w) >> g.shr_w);
        }
        }
        term_w = wadd(term_w, wmul(g.arg_add, (int64_t)(ic1 - ic0)));
        for (i = 0; i < hw; i++)
            acc[i] = wadd(wadd(acc[i], xterm[i]), term_w);
        bn_act(&g, acc, actbuf, emc_rd64(bn + 8u * o), at);
        pool(&g, actbuf, pooled + o_hw * o);
    }

    /* Results leave the scratch only now: an output overlapping the input in KPU RAM is safe. */
    emc_kpu_upload(kpu + ((size_t)g.dst - kpu_lo) * EMC_KPU_ROW_BYTES, pooled,
                   reg_layout(g.out_group, g.out_row_switch, g.out_chan_switch), g.ow, g.oh, g.oc);
    return pooled;
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    emc_model_t *m = x->m;
    conv_regs_t g;
    const uint8_t *regs = b->p + (emc_f(b, F_LAYER) - b->offset);
    const uint8_t *wts = b->p + (emc_f(b, F_WEIGHTS) - b->offset);
    const uint8_t *bn = b->p + (emc_f(b, F_BN) - b->offset);
    const uint8_t *at = b->p + (emc_f(b, F_ACT) - b->offset);
    int eight = (int)(m->flags & 1u);
    size_t o_hw;
    const uint8_t *pooled;

    decode(regs, &g);
    o_hw = (size_t)g.ow * g.oh;

    if (m->port && m->port->k210_conv) {
        emc_k210_conv_t hwl;
        emc_status_t s;
        hwl.regs = regs;
        hwl.weights = wts;
        hwl.bn = bn;
        hwl.act = at;
        hwl.main_out = (emc_f(b, F_FLAGS) & 1u) ? x->main + emc_f(b, F_MAIN_OUT) : NULL;
        hwl.main_out_size = (uint32_t)(o_hw * g.oc);
        hwl.eight_bit = eight;
        s = m->port->k210_conv(m->port->ctx, &hwl);
        if (s == EMC_OK) {
            if (hwl.main_out)
                emc_out_main(x, emc_f(b, F_MAIN_OUT), o_hw * g.oc, EMC_DT_U8);
            else {
                x->out = emc_kpu_at(x, g.dst * EMC_KPU_ROW_BYTES);
                x->out_size = (size_t)emc_kpu_extent(reg_layout(g.out_group, g.out_row_switch, g.out_chan_switch),
                                                     g.ow, g.oh, g.oc);
                x->out_dtype = EMC_DT_U8;
            }
            return;
        }
        if (s != EMC_E_UNSUPPORTED || m->scratch_size < scratch_bytes(&g)) { /* no scratch: no fallback */
            x->status = s;
            return;
        }
    }

    pooled = emc_kpu_conv_sw(regs, wts, bn, at, eight, m->kpu, m->kpu_lo, m->scratch);
    if (emc_f(b, F_FLAGS) & 1u)
        memcpy(x->main + emc_f(b, F_MAIN_OUT), pooled, o_hw * g.oc);
    x->out = pooled;
    x->out_size = o_hw * g.oc;
    x->out_dtype = EMC_DT_U8;
}

const emc_kernel_t emc_k_k210_conv = {10240, 4 * N_FIELDS, "K210_CONV", check, run};
