/*
 * Link-only stand-in for board_stm32.c, used by `make fitcheck` (emc.hil.firmware.fit_check): the
 * STM32Cube HAL is not available offline, so this file declares the same buffers (same macros,
 * same .bss.hilbufs section) with empty board functions, and the firmware is linked with each
 * real board's linker script to prove that code, data, buffers and stack fit its flash and RAM.
 * Never run.
 */
#include <stdint.h>

#include "hil_board.h"

#ifndef HIL_MODEL_MAX
#define HIL_MODEL_MAX (64u * 1024u)
#endif
#ifndef HIL_ARENA_SIZE
#define HIL_ARENA_SIZE (32u * 1024u)
#endif
#ifndef HIL_INPUT_MAX
#define HIL_INPUT_MAX (8u * 1024u)
#endif
#ifndef HIL_CAPTURE_MAX
#define HIL_CAPTURE_MAX (8u * 1024u)
#endif
#ifndef HIL_RING_SIZE
#define HIL_RING_SIZE 8192u
#endif
#define HIL_BUF_ATTR __attribute__((aligned(128), section(".bss.hilbufs")))

static uint8_t model_buf[HIL_MODEL_MAX] HIL_BUF_ATTR;
static uint8_t input_buf[HIL_INPUT_MAX] HIL_BUF_ATTR;
static uint8_t arena[HIL_ARENA_SIZE] HIL_BUF_ATTR;
static uint8_t capture_buf[HIL_CAPTURE_MAX] HIL_BUF_ATTR;
static volatile uint8_t ring[HIL_RING_SIZE];
/* the HAL's UART handle and tables are roughly this big */
static volatile uint8_t hal_state[512];

int board_getc(void) { return ring[0] + hal_state[0] - 1; }
void board_write(const uint8_t *p, size_t n) { (void)p; (void)n; }
void board_idle(void) {}
uint32_t board_millis(void) { return 0; }
uint64_t board_counter(void) { return 0; }
void board_counter_restart(void) {}
void board_reset(void) { for (;;) ; }

void board_init(hil_board_info_t *b)
{
    b->target = "fitcheck";
    b->model_buf = model_buf;
    b->model_max = sizeof model_buf;
    b->input_buf = input_buf;
    b->input_max = sizeof input_buf;
    b->arena = arena;
    b->arena_size = sizeof arena;
    b->capture_buf = capture_buf;
    b->capture_max = sizeof capture_buf;
}

extern uint32_t _estack;
void Reset_Handler(void);
void Reset_Handler(void) { hil_main(); }
__attribute__((section(".isr_vector"), used)) const void *const fit_vectors[2] = {&_estack, (void *)Reset_Handler};
