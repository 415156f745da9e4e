/* K210 port: K210_CONV layers on the hardware KPU (spec docs/kmodel_v3.md sections 5, 8.20, 9).
 *
 *     static emc_k210_t kpu;
 *     static emc_port_t port;
 *     emc_k210_init(&kpu);                 // KPU 0x40800000, AI RAM 0x40600000, IOMEM 0x40000000
 *     kpu.mover.start = my_dma_start;      // optional: the SDK's dmac (else the CPU drains the FIFO)
 *     kpu.mover.wait = my_dma_wait;
 *     emc_k210_port(&kpu, &port);          // port.kpu_ram = AI RAM, port.k210_conv = emc_k210_conv_hw
 *     emc_k210_publish(&kpu, model, size); // once per model, before the first invoke (see below)
 *     emc_model_load(&m, model, size, arena, need, &port);
 *
 * What one K210_CONV does here (what SDK kpu.c kpu_run_kmodel + kpu_conv do):
 *   - copy the layer's 12 register words from the model; patch para_start_addr (word 5),
 *     bwsx_base_addr (word 4) and active_addr (word 7), bits 32..63, with the addresses of the
 *     layer's weights / BN table / activation table inside the model buffer minus `iomem`
 *     (0x40000000: the KPU reads SRAM through the uncached alias, as the SDK hands it
 *     `model + offset - IOMEM`);
 *   - int_en (word 0 bit 0) = 1 when the layer has no main-memory output (completion = calc_done);
 *     send_data_out (word 11 bit 0) = 1 when it has one (the output streams through fifo_data_out);
 *   - interrupt_clear = 7, fifo_threshold = full 10 / empty 1, eight_bit_mode = header flags bit 0,
 *     interrupt_mask = calc_done enabled only without main output (as kpu_conv);
 *   - main output: arm the data mover for (dma_total_byte + 8) / 8 64-bit words from fifo_data_out
 *     to main_out (up to 7 bytes past the map: the runtime's arena keeps 8 bytes of slack after
 *     the main buffer), push the 12 words to layer_argument_fifo, wait for the mover. Without a
 *     mover the CPU reads fifo_data_out itself, 64 bits at a time, and stores exactly the map;
 *   - no main output: push the 12 words, then wait for interrupt_raw.calc_done (polling, or the
 *     `wait` callback, e.g. sleep until the AI interrupt); clear the interrupts.
 * Model input (layer 0), K210_UPLOAD and K210_ADD_PADDING write the AI RAM directly through
 * port.kpu_ram (64-byte rows), so the arena holds no KPU window and no software-KPU scratch
 * (emc_arena_required with this port; emc.kmodel.arena.arena_bytes(m, hardware_kpu=True)).
 * CPU layers run the portable kernels on the RV64 core.
 *
 * Every address and register access goes through this struct, so the same code runs on a host
 * against a stand-in (tests/runtime/k210_standin.c): `regs` may point anywhere, register reads
 * and writes may be routed through `bus_read` / `bus_write`, `ai_ram` may be any 2 MiB buffer and
 * `iomem` any offset that makes model addresses fit the 32-bit register fields.
 *
 * Caches: the KPU reads weights/BN/activation tables through the uncached alias. A model written
 * through the cached alias (UART, SD card) must be made visible first: emc_k210_publish copies
 * the buffer onto its own uncached alias, as SDK kpu_load_kmodel does. The model buffer must be
 * 128-byte aligned (weights/BN/act alignment is by absolute file offset, spec 2.3). The main
 * buffer receives the DMA at the address the runtime uses, as in kpu.c.
 */
#ifndef EMC_PORT_K210_H
#define EMC_PORT_K210_H

#include <stddef.h>
#include <stdint.h>

#include "emc_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* K210 memory map (SDK platform.h). */
#define EMC_K210_KPU_BASE 0x40800000u    /* AI_BASE_ADDR: KPU register block */
#define EMC_K210_AI_IO_BASE 0x40600000u  /* AI_IO_BASE_ADDR: 2 MiB AI RAM, uncached alias */
#define EMC_K210_AI_RAM_BASE 0x80600000u /* AI_RAM_BASE_ADDR: cached alias (not for the KPU port) */
#define EMC_K210_IOMEM 0x40000000u       /* cached SRAM 0x80000000 = uncached 0x40000000 */
#define EMC_K210_AI_RAM_BYTES (2u * 1024u * 1024u)

/* KPU registers (64-bit, byte offsets from the block base; spec 5 "Other KPU registers"). */
#define EMC_KPU_REG_LAYER_FIFO 0x00u     /* layer_argument_fifo (write 12 words per layer) */
#define EMC_KPU_REG_INT_STATUS 0x08u
#define EMC_KPU_REG_INT_RAW 0x10u
#define EMC_KPU_REG_INT_MASK 0x18u
#define EMC_KPU_REG_INT_CLEAR 0x20u
#define EMC_KPU_REG_FIFO_THRESHOLD 0x28u
#define EMC_KPU_REG_FIFO_DATA_OUT 0x30u
#define EMC_KPU_REG_FIFO_CTRL 0x38u
#define EMC_KPU_REG_EIGHT_BIT_MODE 0x40u
/* interrupt_* bits */
#define EMC_KPU_INT_CALC_DONE 0x1u
#define EMC_KPU_INT_CFG_ALMOST_EMPTY 0x2u
#define EMC_KPU_INT_CFG_ALMOST_FULL 0x4u
#define EMC_KPU_INT_ALL 0x7u
/* fifo_threshold as kpu_run_kmodel sets it: full 10 (bits 0..3), empty 1 (bits 4..7) */
#define EMC_KPU_FIFO_THRESHOLD_SDK (10u | (1u << 4))

/* Data mover from fifo_data_out to main memory (on the chip: a DMAC channel with the AI_RX
 * request line, 64-bit transfers, source address fixed, destination incrementing). */
typedef struct emc_k210_mover {
    /* Arm a transfer of `words` 64-bit words from the register at `src` to `dst` (8-byte
     * aligned). Called before the layer is pushed. NULL: the CPU drains the FIFO instead. */
    emc_status_t (*start)(void *user, volatile uint64_t *src, void *dst, uint32_t words);
    /* Block until that transfer has completed (required when start is set). */
    emc_status_t (*wait)(void *user);
    void *user;
} emc_k210_mover_t;

typedef struct emc_k210 {
    volatile uint64_t *regs;   /* KPU register block */
    uint8_t *ai_ram;           /* AI RAM as the CPU writes it (uncached alias on the chip) */
    uintptr_t iomem;           /* subtracted from model-buffer addresses for the KPU */
    /* Register access override (host stand-in). Both NULL: volatile 64-bit loads/stores at regs. */
    uint64_t (*bus_read)(void *bus, uint32_t offset);
    void (*bus_write)(void *bus, uint32_t offset, uint64_t value);
    void *bus;
    emc_k210_mover_t mover;
    /* Optional completion wait for layers without main output (e.g. wfi until the AI interrupt).
     * NULL: poll interrupt_raw.calc_done. Must return once calc_done is raised. */
    emc_status_t (*wait)(void *user);
    void *wait_user;
    /* Polls of interrupt_raw (or FIFO words drained) before giving up with EMC_E_PORT; 0 = none. */
    uint32_t poll_limit;
    /* Counters (diagnostics): layers pushed, 64-bit words moved from fifo_data_out. */
    uint32_t layers;
    uint64_t words_out;
} emc_k210_t;

/* Chip defaults: the addresses above, CPU drain, polling wait, poll_limit 2^28. */
void emc_k210_init(emc_k210_t *k);

/* Fills `port` (zeroed first) so that the runtime uses this KPU: ctx = k, kpu_ram = k->ai_ram,
 * k210_conv = emc_k210_conv_hw. Add port->cycles yourself if wanted. */
void emc_k210_port(emc_k210_t *k, emc_port_t *port);

/* Makes a model written through the cached alias visible to the KPU: copies it onto
 * (address - iomem), as SDK kpu_load_kmodel does. Chip only (the alias must exist). */
void emc_k210_publish(const emc_k210_t *k, const void *model, size_t size);

/* The emc_port_t.k210_conv hook (ctx = emc_k210_t *). EMC_E_PORT when an address does not fit
 * the 32-bit register fields, a mover fails, or the KPU does not finish within poll_limit. */
emc_status_t emc_k210_conv_hw(void *ctx, const emc_k210_conv_t *layer);

#ifdef __cplusplus
}
#endif

#endif
