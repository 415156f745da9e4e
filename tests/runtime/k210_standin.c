/*
 * Recording stand-in for the K210 KPU register block and its DMA, and a host driver that runs a
 * kmodel v3 through the hardware port (runtime_c/ports/k210/emc_port_k210.c) against it.
 * Built and run by tests/runtime/test_k210_port.py (POSIX host: mmap).
 *
 *   k210_standin MODEL INPUT OUTPREFIX [--mover dma|cpu] [--pad-fill B] [--ai-fill B] [--runs N]
 *                [--log FILE] [--dump FILE] [--fault para|act|word|int_en|kpu_row|eight|mask|threshold|
 *                                                    dma_len|dma_dst]
 *
 * The stand-in plays the chip: register writes/reads of the port arrive through the port's bus
 * callbacks and are recorded (--log: "wr OFF VAL", "rd OFF VAL", "dma DST_OFF WORDS", "layer ORD
 * INDEX"); the 12th word pushed to layer_argument_fifo runs the layer with the project's software
 * KPU (emc_kpu_conv_sw) on the stand-in's AI RAM, using the eight_bit_mode REGISTER and the
 * PATCHED addresses (translated back: host = kpu address + iomem), so a wrong patch or a missing
 * register write changes the outputs. The layer's dense output is queued for fifo_data_out
 * (rounded up to 8 bytes, the tail filled with --pad-fill); interrupt_raw.calc_done rises when the
 * layer is done (for send_data_out layers only once the FIFO has been drained, as a KPU that
 * back-pressures on its output FIFO would). The DMA stand-in (the port's mover callbacks) moves
 * whole 64-bit words, like the DMAC.
 *
 * Checks (each failure prints "CHECK FAIL ..." and makes the exit status 1):
 *  - the 12 words of each pushed layer equal the layer's register block in the file except the
 *    three address fields (bits 32..63 of words 4, 5, 7), int_en (word 0 bit 0) = no main output,
 *    send_data_out (word 11 bit 0) = main output; layers arrive in file order, one push per
 *    K210_CONV, while the interpreter is at that layer;
 *  - para_start_addr / bwsx_base_addr / active_addr = model + weights/BN/act offset - iomem,
 *    each block inside the model buffer; with the model at the chip's SRAM address 0x80000000
 *    (or emulated there) they are the uncached-alias addresses 0x40000000 + offset;
 *  - at each push: interrupt_raw cleared, fifo_threshold = full 10 / empty 1, eight_bit_mode =
 *    header flags bit 0, interrupt_mask = 7 with main output else 6;
 *  - the input and output maps of every layer (register layouts) lie inside the 2 MiB AI RAM; the
 *    AI RAM has PROT_NONE guard pages on both sides, so any CPU access outside it (input upload,
 *    K210_UPLOAD, K210_ADD_PADDING) crashes the run;
 *  - DMA: armed before the push, destination = main buffer + main_mem_out_address, length
 *    (dma_total_byte + 8) / 8 words, inside main buffer + 8 bytes slack; the FIFO drained exactly
 *    (no read of an empty FIFO, nothing left behind) before the next layer;
 *  - every K210_CONV pushed exactly once per invoke; every run gives the same outputs.
 * Outputs go to OUTPREFIX.out<i>.bin; --dump writes every layer's hook output
 * (u32 index, type, dtype, size, bytes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emc_internal.h"
#include "emc_port_k210.h"
#include "emc_runtime.h"
#include "k_k210_conv.h"

#define CHIP_SRAM 0x80000000ull

typedef struct conv_info {
    uint32_t index, flags, main_out, layer_off, w_off, bn_off, act_off, w_bytes, oc;
} conv_info_t;

static struct {
    /* model */
    uint8_t *model;
    size_t model_size;
    uintptr_t iomem;
    int chip_layout; /* model really mapped at 0x80000000 */
    uint32_t flags, main_mem_usage;
    conv_info_t *convs;
    uint32_t nconv;
    /* runtime */
    uint8_t *main;
    uint8_t *ai_ram;
    int32_t cur_layer;
    /* register file */
    uint64_t raw, mask, thresh, eight_bit, fifo_ctrl;
    uint64_t pending[12];
    uint32_t npending, ordinal;
    /* output stream */
    uint8_t *stream;
    uint32_t stream_words, stream_pos, stream_main;
    uint32_t stream_ordinal;
    /* dma */
    int dma_mode, dma_armed;
    uint8_t *dma_dst;
    uint32_t dma_words;
    /* software KPU */
    void *scratch;
    size_t scratch_size;
    int pad_fill;
    const char *fault; /* --fault: corrupt what the port sends, to prove the checks fire */
    /* stats */
    unsigned long failures, reg_writes, reg_reads, pushes, dmas, drained_words;
    FILE *log;
} S;

static void fail(const char *fmt, ...)
{
    va_list ap;
    S.failures++;
    if (S.failures > 50)
        return;
    fprintf(stderr, "CHECK FAIL (layer %d, conv #%u): ", S.cur_layer, S.ordinal);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t bits(uint64_t v, unsigned lo, unsigned n) { return (v >> lo) & ((1ull << n) - 1ull); }

/* Independent walk of the file's layer table: the K210_CONV layers and their sub-blocks. */
static void parse_model(void)
{
    const uint8_t *f = S.model;
    uint32_t layers = le32(f + 12), outputs = le32(f + 24), i;
    uint64_t off = 28u + 8u * (uint64_t)outputs + 8u * (uint64_t)layers;
    S.flags = le32(f + 4);
    S.main_mem_usage = le32(f + 20);
    S.convs = calloc(layers, sizeof *S.convs);
    for (i = 0; i < layers; i++) {
        const uint8_t *h = f + 28 + 8 * (size_t)outputs + 8 * (size_t)i;
        uint32_t type = le32(h), bsz = le32(h + 4);
        if (type == 10240) {
            conv_info_t *c = &S.convs[S.nconv++];
            const uint8_t *b = f + off, *r;
            uint64_t w2;
            int dw;
            c->index = i;
            c->flags = le32(b);
            c->main_out = le32(b + 4);
            c->layer_off = le32(b + 8);
            c->w_off = le32(b + 12);
            c->bn_off = le32(b + 16);
            c->act_off = le32(b + 20);
            r = f + c->layer_off;
            w2 = le64(r + 16);
            dw = (int)bits(le64(r), 3, 1);
            c->oc = (uint32_t)bits(w2, 32, 10) + 1;
            c->w_bytes = (dw ? c->oc : ((uint32_t)bits(w2, 0, 10) + 1) * c->oc) *
                         (bits(le64(r + 32), 0, 3) == 1 ? 9u : 1u) * ((S.flags & 1u) ? 1u : 2u);
        }
        off += bsz;
    }
}

static int check_block(const char *what, uint64_t addr, uint32_t want_off, uint32_t len)
{
    unsigned long before = S.failures;
    uintptr_t host = (uintptr_t)(addr + S.iomem);
    uint64_t want = (uint64_t)((uintptr_t)S.model + want_off - S.iomem) & 0xFFFFFFFFull;
    if (addr != want)
        fail("%s = 0x%08llx, want model + 0x%x - iomem = 0x%08llx", what, (unsigned long long)addr, want_off,
             (unsigned long long)want);
    if (host < (uintptr_t)S.model || host + len > (uintptr_t)S.model + S.model_size)
        fail("%s 0x%08llx (+%u) outside the model buffer", what, (unsigned long long)addr, len);
    /* the chip's convention: model in SRAM at 0x80000000 + x, the KPU reads 0x40000000 + x */
    if (addr < 0x40000000ull || addr + len > 0x40600000ull)
        fail("%s 0x%08llx not in the uncached SRAM alias 0x40000000..0x405fffff", what, (unsigned long long)addr);
    return S.failures == before;
}

static int check_map(const char *what, uint32_t row, uint32_t groups, uint32_t row_len, uint32_t chan_rows,
                      uint32_t w, uint32_t h, uint32_t c)
{
    emc_kpu_layout_t l;
    uint64_t end;
    l.groups = groups ? groups : 1;
    l.row_len = row_len;
    l.row_pitch = 64u / l.groups;
    l.chan_rows = chan_rows;
    end = (uint64_t)row * 64u + emc_kpu_extent(l, w, h, c);
    if (end > EMC_K210_AI_RAM_BYTES) {
        fail("%s map rows %u.. ends at byte %llu, past the 2 MiB AI RAM", what, row, (unsigned long long)end);
        return 0;
    }
    return 1;
}

/* The 12th word arrived: check, then "run" the layer. */
static void run_layer(void)
{
    const uint64_t *w = S.pending;
    conv_info_t *c;
    const uint8_t *fr;
    uint8_t regs[96];
    int main_out, i, j, ok = 1;
    uint64_t ign[12] = {0};
    const uint8_t *out;
    uint32_t ow, oh, oc, n;

    if (S.stream_words && S.stream_pos < S.stream_words)
        fail("layer pushed while %u words of conv #%u are still in fifo_data_out", S.stream_words - S.stream_pos,
             S.stream_ordinal);
    if (S.ordinal >= S.nconv) {
        fail("more K210_CONV pushes than K210_CONV layers (%u)", S.nconv);
        return;
    }
    c = &S.convs[S.ordinal];
    if (S.log)
        fprintf(S.log, "layer %u %u\n", S.ordinal, c->index);
    if ((int32_t)c->index != S.cur_layer)
        fail("pushed during layer %d, the file's conv #%u is layer %u", S.cur_layer, S.ordinal, c->index);
    main_out = (int)(c->flags & 1u);
    fr = S.model + c->layer_off;
    /* the only bits the runtime may change */
    ign[0] = 1ull;
    ign[4] = ign[5] = ign[7] = 0xFFFFFFFFull << 32;
    ign[11] = 1ull;
    for (j = 0; j < 12; j++) {
        uint64_t f = le64(fr + 8 * j);
        if ((w[j] & ~ign[j]) != (f & ~ign[j]))
            fail("word %d = 0x%016llx differs from the file's 0x%016llx outside the patched fields", j,
                 (unsigned long long)w[j], (unsigned long long)f);
    }
    if ((w[0] & 1u) != (uint64_t)!main_out)
        fail("int_en = %llu with main output %d (SDK: int_en iff no main output)", (unsigned long long)(w[0] & 1u),
             main_out);
    if ((w[11] & 1u) != (uint64_t)main_out)
        fail("send_data_out = %llu with main output %d", (unsigned long long)(w[11] & 1u), main_out);
    ok &= check_block("para_start_addr", w[5] >> 32, c->w_off, c->w_bytes);
    ok &= check_block("bwsx_base_addr", w[4] >> 32, c->bn_off, c->oc * 8u);
    ok &= check_block("active_addr", w[7] >> 32, c->act_off, 144u);
    /* register state at the push */
    if (S.raw & EMC_KPU_INT_CALC_DONE)
        fail("interrupt_raw.calc_done still set when the layer was pushed (not cleared)");
    if (S.thresh != EMC_KPU_FIFO_THRESHOLD_SDK)
        fail("fifo_threshold = 0x%llx, want 0x%x", (unsigned long long)S.thresh, EMC_KPU_FIFO_THRESHOLD_SDK);
    if (S.eight_bit != (S.flags & 1u)) { /* computing would read the weights with the wrong width */
        fail("eight_bit_mode = %llu, header flags bit 0 = %u", (unsigned long long)S.eight_bit, S.flags & 1u);
        ok = 0;
    }
    if (S.mask != (main_out ? 7u : 6u))
        fail("interrupt_mask = %llu, want %u", (unsigned long long)S.mask, main_out ? 7u : 6u);
    /* KPU RAM */
    {
        uint32_t src = (uint32_t)bits(w[1], 0, 15), dst = (uint32_t)bits(w[1], 32, 15);
        uint32_t ic = (uint32_t)bits(w[2], 0, 10) + 1, iw = (uint32_t)bits(w[3], 0, 10) + 1,
                 ih = (uint32_t)bits(w[3], 10, 9) + 1;
        oc = (uint32_t)bits(w[2], 32, 10) + 1;
        ow = (uint32_t)bits(w[3], 32, 10) + 1;
        oh = (uint32_t)bits(w[3], 42, 9) + 1;
        ok &= check_map("input", src, (uint32_t)bits(w[7], 28, 3), (uint32_t)bits(w[7], 16, 4), (uint32_t)bits(w[7], 0, 15),
                  iw, ih, ic);
        ok &= check_map("output", dst, (uint32_t)bits(w[8], 20, 3), (uint32_t)bits(w[8], 16, 4), (uint32_t)bits(w[8], 0, 15),
                  ow, oh, oc);
    }
    if (!ok) { /* do not compute with addresses that failed; let the port finish the layer */
        S.stream_words = S.stream_pos = 0;
        S.raw |= EMC_KPU_INT_CALC_DONE;
        S.ordinal++;
        return;
    }
    for (j = 0; j < 12; j++)
        for (i = 0; i < 8; i++)
            regs[8 * j + i] = (uint8_t)(w[j] >> (8 * i));
    if (emc_kpu_conv_sw_scratch(regs) > S.scratch_size) {
        S.scratch_size = emc_kpu_conv_sw_scratch(regs);
        free(S.scratch);
        S.scratch = malloc(S.scratch_size);
    }
    out = emc_kpu_conv_sw(regs, (const uint8_t *)(uintptr_t)((w[5] >> 32) + S.iomem),
                          (const uint8_t *)(uintptr_t)((w[4] >> 32) + S.iomem),
                          (const uint8_t *)(uintptr_t)((w[7] >> 32) + S.iomem), (int)(S.eight_bit & 1u), S.ai_ram, 0,
                          S.scratch);
    S.stream_ordinal = S.ordinal;
    if (w[11] & 1u) { /* send_data_out: the dense map, dma_total_byte + 1 bytes, in 64-bit words */
        n = ow * oh * oc;
        if (bits(w[11], 32, 32) + 1 != n)
            fail("dma_total_byte + 1 = %llu, map is %u bytes", (unsigned long long)bits(w[11], 32, 32) + 1, n);
        S.stream_words = (uint32_t)((bits(w[11], 32, 32) + 8) / 8);
        S.stream = realloc(S.stream, (size_t)S.stream_words * 8u);
        memset(S.stream, S.pad_fill, (size_t)S.stream_words * 8u);
        memcpy(S.stream, out, n < S.stream_words * 8u ? n : S.stream_words * 8u);
        S.stream_pos = 0;
        S.stream_main = main_out;
        if (S.dma_mode) {
            uint8_t *want = S.main + c->main_out;
            if (!S.dma_armed)
                fail("main-output layer pushed with no DMA armed");
            else {
                if (S.dma_dst != want)
                    fail("DMA destination = main + %lld, want main + %u", (long long)(S.dma_dst - S.main), c->main_out);
                if (S.dma_words != S.stream_words)
                    fail("DMA length %u words, want (dma_total_byte + 8) / 8 = %u", S.dma_words, S.stream_words);
                if (S.dma_dst < S.main ||
                    S.dma_dst + (size_t)S.dma_words * 8u > S.main + S.main_mem_usage + EMC_MAIN_SLACK)
                    fail("DMA [main + %lld, +%u words) outside the main buffer + %u bytes slack",
                         (long long)(S.dma_dst - S.main), S.dma_words, EMC_MAIN_SLACK);
            }
        }
    } else {
        if (S.dma_armed)
            fail("DMA armed for a layer without main output");
        S.stream_words = S.stream_pos = 0;
        S.raw |= EMC_KPU_INT_CALC_DONE;
    }
    S.ordinal++;
}

static int faulty(const char *name) { return S.fault && !strcmp(S.fault, name); }

static void bus_write(void *bus, uint32_t off, uint64_t v)
{
    (void)bus;
    S.reg_writes++;
    if (off == EMC_KPU_REG_LAYER_FIFO) {
        if (faulty("para") && S.npending == 5)
            v += 128ull << 32;
        if (faulty("act") && S.npending == 7)
            v += 16ull << 32;
        if (faulty("word") && S.npending == 9)
            v ^= 1ull << 8;
        if (faulty("int_en") && S.npending == 0)
            v ^= 1ull;
        if (faulty("kpu_row") && S.npending == 1)
            v |= 0x7FFFull << 32;
    }
    if ((faulty("eight") && off == EMC_KPU_REG_EIGHT_BIT_MODE) || (faulty("mask") && off == EMC_KPU_REG_INT_MASK) ||
        (faulty("threshold") && off == EMC_KPU_REG_FIFO_THRESHOLD))
        return; /* a write the port "forgot" */
    if (S.log)
        fprintf(S.log, "wr 0x%02x 0x%016llx\n", off, (unsigned long long)v);
    switch (off) {
    case EMC_KPU_REG_LAYER_FIFO:
        S.pushes++;
        S.pending[S.npending++] = v;
        if (S.npending == 12) {
            run_layer();
            S.npending = 0;
            S.dma_armed = 0;
        }
        break;
    case EMC_KPU_REG_INT_MASK:
        S.mask = v;
        break;
    case EMC_KPU_REG_INT_CLEAR:
        S.raw &= ~v;
        break;
    case EMC_KPU_REG_FIFO_THRESHOLD:
        S.thresh = v;
        break;
    case EMC_KPU_REG_EIGHT_BIT_MODE:
        S.eight_bit = v;
        break;
    case EMC_KPU_REG_FIFO_CTRL:
        S.fifo_ctrl = v;
        break;
    default:
        fail("write 0x%llx to read-only or unknown KPU register 0x%02x", (unsigned long long)v, off);
    }
    if (off != EMC_KPU_REG_LAYER_FIFO && S.npending)
        fail("register 0x%02x written in the middle of a layer's 12 words", off);
}

static void stream_done(void)
{
    if (S.stream_pos == S.stream_words)
        S.raw |= EMC_KPU_INT_CALC_DONE;
}

static uint64_t bus_read(void *bus, uint32_t off)
{
    uint64_t v = 0;
    (void)bus;
    S.reg_reads++;
    switch (off) {
    case EMC_KPU_REG_INT_RAW:
        v = S.raw;
        break;
    case EMC_KPU_REG_INT_STATUS:
        v = S.raw & ~S.mask;
        break;
    case EMC_KPU_REG_INT_MASK:
        v = S.mask;
        break;
    case EMC_KPU_REG_FIFO_THRESHOLD:
        v = S.thresh;
        break;
    case EMC_KPU_REG_EIGHT_BIT_MODE:
        v = S.eight_bit;
        break;
    case EMC_KPU_REG_FIFO_DATA_OUT:
        if (S.stream_pos >= S.stream_words) {
            fail("read of an empty fifo_data_out");
            v = 0xDEADBEEFDEADBEEFull;
        } else {
            v = le64(S.stream + 8u * S.stream_pos++);
            S.drained_words++;
            stream_done();
        }
        break;
    default:
        fail("read of KPU register 0x%02x", off);
    }
    if (S.log && off != EMC_KPU_REG_FIFO_DATA_OUT)
        fprintf(S.log, "rd 0x%02x 0x%016llx\n", off, (unsigned long long)v);
    return v;
}

static volatile uint64_t fake_regs[16]; /* never accessed: only its fifo_data_out address is */

static emc_status_t dma_start(void *user, volatile uint64_t *src, void *dst, uint32_t words)
{
    (void)user;
    if (faulty("dma_len"))
        words--;
    if (faulty("dma_dst"))
        dst = (uint8_t *)dst + 8;
    if (src != &fake_regs[EMC_KPU_REG_FIFO_DATA_OUT / 8])
        fail("DMA source is not fifo_data_out (KPU base + 0x30)");
    if (S.dma_armed)
        fail("DMA armed twice");
    if (((uintptr_t)dst & 7u) != 0)
        fail("DMA destination not 8-byte aligned");
    S.dma_armed = 1;
    S.dma_dst = (uint8_t *)dst;
    S.dma_words = words;
    S.dmas++;
    if (S.log)
        fprintf(S.log, "dma %lld %u\n", (long long)((uint8_t *)dst - S.main), words);
    return EMC_OK;
}

static emc_status_t dma_wait(void *user)
{
    uint32_t i;
    (void)user;
    /* the armed transfer ran once the layer was pushed: whole words, like the DMAC */
    for (i = 0; i < S.dma_words && S.stream_pos < S.stream_words; i++) {
        memcpy(S.dma_dst + 8u * i, S.stream + 8u * S.stream_pos++, 8);
        S.drained_words++;
    }
    if (i != S.dma_words)
        fail("DMA of %u words found %u in fifo_data_out", S.dma_words, i);
    stream_done();
    S.dma_words = 0;
    return EMC_OK;
}

static void hook(void *user, uint32_t index, uint32_t type, const void *out, size_t size, emc_dtype_t dt,
                 uint32_t cycles)
{
    FILE *f = (FILE *)user;
    uint32_t h[4];
    (void)cycles;
    S.cur_layer = (int32_t)index + 1;
    if (!f)
        return;
    h[0] = index;
    h[1] = type;
    h[2] = (uint32_t)dt;
    h[3] = (uint32_t)size;
    fwrite(h, 4, 4, f);
    if (size)
        fwrite(out, 1, size, f);
}

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    if (fread(p, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return p;
}

int main(int argc, char **argv)
{
    const char *model_path, *input_path, *prefix, *log_path = NULL, *dump_path = NULL;
    uint8_t *file, *input, *ai, *arena_raw, *arena, **first = NULL;
    size_t fsize, isize, need, page = (size_t)sysconf(_SC_PAGESIZE), map_size;
    int runs = 1, ai_fill = 0, i, r;
    emc_k210_t kpu;
    emc_port_t port;
    static emc_model_t m;
    emc_status_t st;
    FILE *dump = NULL;
    uint32_t nout, o;
    size_t *first_size = NULL;

    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL INPUT OUTPREFIX [--mover dma|cpu] [--pad-fill B] [--ai-fill B] "
                        "[--runs N] [--log FILE] [--dump FILE] [--fault NAME]\n", argv[0]);
        return 2;
    }
    model_path = argv[1];
    input_path = argv[2];
    prefix = argv[3];
    S.dma_mode = 1;
    for (i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mover"))
            S.dma_mode = !strcmp(argv[i + 1], "dma");
        else if (!strcmp(argv[i], "--pad-fill"))
            S.pad_fill = (int)strtol(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--ai-fill"))
            ai_fill = (int)strtol(argv[i + 1], NULL, 0);
        else if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--log"))
            log_path = argv[i + 1];
        else if (!strcmp(argv[i], "--dump"))
            dump_path = argv[i + 1];
        else if (!strcmp(argv[i], "--fault"))
            S.fault = argv[i + 1];
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    file = read_file(model_path, &fsize);
    input = read_file(input_path, &isize);
    if (!file || !input) {
        fprintf(stderr, "cannot read %s or %s\n", model_path, input_path);
        return 2;
    }

    /* The model where the chip has it: SRAM 0x80000000 (KPU addresses 0x40000000 + offset). If
     * that address is taken, anywhere, with iomem chosen so the KPU addresses are the same. */
    map_size = (fsize + page - 1) / page * page;
    S.model = mmap((void *)(uintptr_t)CHIP_SRAM, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (S.model == MAP_FAILED) {
        perror("mmap model");
        return 2;
    }
    S.chip_layout = (uintptr_t)S.model == CHIP_SRAM;
    S.iomem = (uintptr_t)S.model - (uintptr_t)(CHIP_SRAM - EMC_K210_IOMEM);
    memcpy(S.model, file, fsize);
    S.model_size = fsize;
    parse_model();

    /* 2 MiB AI RAM between two inaccessible pages */
    ai = mmap(NULL, EMC_K210_AI_RAM_BYTES + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ai == MAP_FAILED || mprotect(ai + page, EMC_K210_AI_RAM_BYTES, PROT_READ | PROT_WRITE)) {
        perror("mmap AI RAM");
        return 2;
    }
    S.ai_ram = ai + page;
    memset(S.ai_ram, ai_fill, EMC_K210_AI_RAM_BYTES); /* the chip's AI RAM holds anything at reset */

    emc_k210_init(&kpu);
    kpu.regs = fake_regs;
    kpu.ai_ram = S.ai_ram;
    kpu.iomem = S.iomem;
    kpu.bus_read = bus_read;
    kpu.bus_write = bus_write;
    kpu.poll_limit = 1000;
    if (S.dma_mode) {
        kpu.mover.start = dma_start;
        kpu.mover.wait = dma_wait;
    }
    emc_k210_port(&kpu, &port);
    if (log_path)
        S.log = fopen(log_path, "w");
    if (S.log)
        fprintf(S.log, "model 0x%llx kpu 0x%llx iomem 0x%llx chip_layout %d\n", (unsigned long long)(uintptr_t)S.model,
                (unsigned long long)((uintptr_t)S.model - S.iomem), (unsigned long long)S.iomem, S.chip_layout);

    st = emc_arena_required(S.model, fsize, &port, &need);
    if (st != EMC_OK) {
        fprintf(stderr, "emc_arena_required: %s\n", emc_status_str(st));
        return 2;
    }
    arena_raw = malloc(need + 16);
    arena = arena_raw + ((16u - ((uintptr_t)arena_raw & 15u)) & 15u);
    st = emc_model_load(&m, S.model, fsize, arena, need, &port);
    if (st != EMC_OK) {
        fprintf(stderr, "emc_model_load: %s (layer %d)\n", emc_status_str(st), emc_model_last_error(&m).layer);
        return 2;
    }
    S.main = arena; /* the main buffer is the start of the arena */
    if (dump_path)
        dump = fopen(dump_path, "wb");
    nout = emc_model_output_count(&m);
    first = calloc(nout, sizeof *first);
    first_size = calloc(nout, sizeof *first_size);
    for (r = 0; r < runs; r++) {
        st = emc_model_set_input(&m, input, isize);
        if (st != EMC_OK) {
            fprintf(stderr, "emc_model_set_input: %s\n", emc_status_str(st));
            return 2;
        }
        S.ordinal = 0;
        S.cur_layer = 0;
        emc_model_set_hook(&m, hook, r == 0 ? dump : NULL);
        st = emc_model_invoke(&m);
        if (st != EMC_OK) {
            fprintf(stderr, "emc_model_invoke: %s (layer %d)\n", emc_status_str(st), emc_model_last_error(&m).layer);
            return 2;
        }
        if (S.ordinal != S.nconv)
            fail("run %d pushed %u K210_CONV layers, the file has %u", r, S.ordinal, S.nconv);
        if (S.npending)
            fail("run %d left %u words of an incomplete layer", r, S.npending);
        if (S.stream_pos != S.stream_words)
            fail("run %d left %u words in fifo_data_out", r, S.stream_words - S.stream_pos);
        for (o = 0; o < nout; o++) {
            emc_tensor_t t;
            emc_model_output(&m, o, &t);
            if (r == 0) {
                char path[4096];
                FILE *f;
                first[o] = malloc(t.size);
                memcpy(first[o], t.data, t.size);
                first_size[o] = t.size;
                snprintf(path, sizeof path, "%s.out%u.bin", prefix, o);
                f = fopen(path, "wb");
                if (!f || fwrite(t.data, 1, t.size, f) != t.size) {
                    perror(path);
                    return 2;
                }
                fclose(f);
            } else if (t.size != first_size[o] || memcmp(t.data, first[o], t.size)) {
                fail("run %d output %u differs from run 0", r, o);
            }
        }
    }
    if (dump)
        fclose(dump);
    if (S.log)
        fclose(S.log);
    for (o = 0; o < nout; o++)
        free(first[o]);
    free(first);
    free(first_size);
    free(arena_raw);
    free(file);
    free(input);
    free(S.convs);
    free(S.stream);
    free(S.scratch);
    printf("layers=%u conv=%u runs=%d pushes=%lu reg_writes=%lu reg_reads=%lu dmas=%lu fifo_words=%lu "
           "port_layers=%u port_words=%llu arena=%zu chip_layout=%d failures=%lu\n",
           emc_model_layer_count(&m), S.nconv, runs, S.pushes, S.reg_writes, S.reg_reads, S.dmas, S.drained_words,
           kpu.layers, (unsigned long long)kpu.words_out, need, S.chip_layout, S.failures);
    return S.failures ? 1 : 0;
}
