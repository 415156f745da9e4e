/* K210 port: K210_CONV on the hardware KPU. See emc_port_k210.h for the sequence and its source
 * (SDK kpu.c kpu_run_kmodel / kpu_conv / kpu_send_layer). No SDK headers: every address comes from
 * the emc_k210_t, so the host tests run this file unchanged against a recording stand-in. */
#include <string.h>

#include "emc_port_k210.h"

#define LO32 0xFFFFFFFFull

static void reg_wr(const emc_k210_t *k, uint32_t off, uint64_t v)
{
    if (k->bus_write)
        k->bus_write(k->bus, off, v);
    else
        k->regs[off / 8u] = v;
}

static uint64_t reg_rd(const emc_k210_t *k, uint32_t off)
{
    if (k->bus_read)
        return k->bus_read(k->bus, off);
    return k->regs[off / 8u];
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void emc_k210_init(emc_k210_t *k)
{
    memset(k, 0, sizeof *k);
    k->regs = (volatile uint64_t *)(uintptr_t)EMC_K210_KPU_BASE;
    k->ai_ram = (uint8_t *)(uintptr_t)EMC_K210_AI_IO_BASE;
    k->iomem = (uintptr_t)EMC_K210_IOMEM;
    k->poll_limit = 1u << 28;
}

void emc_k210_port(emc_k210_t *k, emc_port_t *port)
{
    memset(port, 0, sizeof *port);
    port->ctx = k;
    port->kpu_ram = k->ai_ram;
    port->k210_conv = emc_k210_conv_hw;
}

void emc_k210_publish(const emc_k210_t *k, const void *model, size_t size)
{
    /* Same bytes, written through the alias the KPU reads: memory then holds them whatever the
     * state of the data cache. */
    volatile uint8_t *dst = (volatile uint8_t *)((uintptr_t)model - k->iomem);
    const uint8_t *src = (const uint8_t *)model;
    size_t i;
    if (k->iomem == 0)
        return;
    for (i = 0; i < size; i++)
        dst[i] = src[i];
    __asm__ volatile("" ::: "memory");
}

/* Address of `p` as the KPU sees it, in 32 bits (0 and *ok = 0 when it does not fit). */
static uint64_t kpu_addr(const emc_k210_t *k, const void *p, int *ok)
{
    uintptr_t a = (uintptr_t)p - k->iomem;
    if ((uint64_t)a > LO32) {
        *ok = 0;
        return 0;
    }
    return (uint64_t)a;
}

/* CPU fallback of the data mover: `words` reads of fifo_data_out, exactly `size` bytes stored. */
static emc_status_t cpu_drain(emc_k210_t *k, uint8_t *dst, uint32_t size, uint32_t words)
{
    uint32_t i;
    for (i = 0; i < words; i++) {
        uint64_t v = reg_rd(k, EMC_KPU_REG_FIFO_DATA_OUT);
        uint32_t n = size - 8u * i < 8u ? size - 8u * i : 8u, j;
        for (j = 0; j < n; j++)
            dst[8u * i + j] = (uint8_t)(v >> (8u * j));
    }
    k->words_out += words;
    return EMC_OK;
}

static emc_status_t wait_calc_done(emc_k210_t *k)
{
    uint32_t n = 0;
    if (k->wait)
        return k->wait(k->wait_user);
    while (!(reg_rd(k, EMC_KPU_REG_INT_RAW) & EMC_KPU_INT_CALC_DONE)) {
        if (k->poll_limit && ++n >= k->poll_limit)
            return EMC_E_PORT;
    }
    return EMC_OK;
}

emc_status_t emc_k210_conv_hw(void *ctx, const emc_k210_conv_t *layer)
{
    emc_k210_t *k = (emc_k210_t *)ctx;
    uint64_t w[12], a_w, a_bn, a_act;
    int i, ok = 1, main_out;
    uint32_t words = 0;
    emc_status_t s = EMC_OK;

    if (!k || !layer)
        return EMC_E_ARG;
    for (i = 0; i < 12; i++)
        w[i] = rd64(layer->regs + 8 * i);
    a_w = kpu_addr(k, layer->weights, &ok);
    a_bn = kpu_addr(k, layer->bn, &ok);
    a_act = kpu_addr(k, layer->act, &ok);
    if (!ok)
        return EMC_E_PORT;
    main_out = layer->main_out != NULL;
    w[4] = (w[4] & LO32) | (a_bn << 32);   /* kernel_pool_type_cfg.bwsx_base_addr */
    w[5] = (w[5] & LO32) | (a_w << 32);    /* kernel_load_cfg.para_start_addr */
    w[7] = (w[7] & LO32) | (a_act << 32);  /* kernel_calc_type_cfg.active_addr */
    w[0] = (w[0] & ~1ull) | (main_out ? 0u : 1u);  /* interrupt_enabe.int_en */
    w[11] = (w[11] & ~1ull) | (main_out ? 1u : 0u); /* dma_parameter.send_data_out */

    /* kpu_run_kmodel's set-up, repeated per layer (cheap, and each layer is self-contained) */
    reg_wr(k, EMC_KPU_REG_INT_CLEAR, EMC_KPU_INT_ALL);
    reg_wr(k, EMC_KPU_REG_FIFO_THRESHOLD, EMC_KPU_FIFO_THRESHOLD_SDK);
    reg_wr(k, EMC_KPU_REG_EIGHT_BIT_MODE, layer->eight_bit ? 1u : 0u);
    /* kpu_conv: with main output only the DMA completion matters, all KPU interrupts masked */
    reg_wr(k, EMC_KPU_REG_INT_MASK, main_out ? EMC_KPU_INT_ALL : EMC_KPU_INT_ALL & ~(uint64_t)EMC_KPU_INT_CALC_DONE);

    if (main_out) {
        /* (dma_total_byte + 8) / 8 words: the map rounded up to 8 bytes (the loader checked
         * dma_total_byte == main_out_size - 1) */
        words = (uint32_t)(((w[11] >> 32) + 8u) / 8u);
        if ((uint64_t)words * 8u < layer->main_out_size)
            return EMC_E_PORT;
        if (k->mover.start) {
            volatile uint64_t *fifo = (volatile uint64_t *)((uintptr_t)k->regs + EMC_KPU_REG_FIFO_DATA_OUT);
            s = k->mover.start(k->mover.user, fifo, layer->main_out, words);
            if (s != EMC_OK)
                return s;
        }
    }

    for (i = 0; i < 12; i++) /* kpu_send_layer: word 0 first */
        reg_wr(k, EMC_KPU_REG_LAYER_FIFO, w[i]);
    k->layers++;

    if (main_out) {
        if (k->mover.start) {
            s = k->mover.wait ? k->mover.wait(k->mover.user) : EMC_E_PORT;
            if (s == EMC_OK)
                k->words_out += words;
        } else {
            s = cpu_drain(k, layer->main_out, layer->main_out_size, words);
        }
    } else {
        s = wait_calc_done(k);
    }
    reg_wr(k, EMC_KPU_REG_INT_CLEAR, EMC_KPU_INT_ALL);
    return s;
}
