/*
 * What a target (QEMU machine, real board, host build) provides to the common HIL firmware.
 * Implementations: firmware_stm32/src/board_mps2.c, board_stm32.c; firmware_k210/src/board_virt.c,
 * board_k210.c; firmware_common/host/board_host.c.
 */
#ifndef HIL_BOARD_H
#define HIL_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "emc_runtime.h"

typedef struct hil_board_info {
    const char *target;        /* e.g. "qemu-m4" */
    uint32_t core_clock_hz;
    uint32_t counter_kind;     /* HIL_CNT_* */
    uint32_t build_flags;      /* HIL_BF_* set by the board (the common code adds runtime ones) */
    uint8_t *model_buf;        /* model bytes go here (LOAD_CHUNK or a preload); 128-byte aligned */
    uint32_t model_max;
    uint8_t *input_buf;        /* input staging buffer (SET_INPUT or a preload) */
    uint32_t input_max;
    uint8_t *arena;            /* runtime arena, EMC_ARENA_ALIGN aligned */
    uint32_t arena_size;
    uint8_t *capture_buf;      /* layer capture buffer for GET_LAYER */
    uint32_t capture_max;
    uint8_t *kpu_ram;          /* K210 only: the 2 MiB AI RAM for the runtime's KPU rows (else NULL:
                                  the runtime emulates KPU RAM inside the arena) */
    /* K210 only: K210_CONV on the hardware KPU (emc_port_t.k210_conv / .ctx, with kpu_ram = the AI
     * RAM: runtime_c/ports/k210). NULL: the runtime's software KPU. */
    emc_status_t (*k210_conv)(void *ctx, const emc_k210_conv_t *layer);
    void *k210_ctx;
    /* Optional: called with a committed model's bytes before it is loaded (K210 hardware KPU:
     * emc_k210_publish, so the KPU reads the weights from memory, not stale cache). */
    void (*model_ready)(const uint8_t *model, uint32_t size);
} hil_board_info_t;

void board_init(hil_board_info_t *info);
/* Non-blocking: next received byte, or -1. */
int board_getc(void);
/* Blocking write of n bytes. */
void board_write(const uint8_t *p, size_t n);
/* Wait (low power where possible) until a byte may have arrived or some time passed. */
void board_idle(void);
/* Milliseconds, wrapping; used only for the partial-frame timeout. */
uint32_t board_millis(void);
/* Free-running counter of kind info->counter_kind. board_counter_restart() may rebase it. */
uint64_t board_counter(void);
void board_counter_restart(void);
/* HIL_RESET mode 1. Must not return. */
void board_reset(void);

/* Markers around emc_model_invoke for the QEMU instruction-count plugin (common code). */
void prof_begin(void);
void prof_end(void);

/* Common entry point, called by the board's main(). */
void hil_main(void);

#endif
