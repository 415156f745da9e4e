/*
 * Link-only stand-in for board_stm32.c, used by `make fitcheck` (emc.hil.firmware.fit_check): the
 * STM32Cube HAL is not available offline, so this file includes the same buffers
 * (board_stm32_buffers.h) with empty board functions, and the firmware is linked with each
 * real board's linker script to prove that code, data, buffers and stack fit its flash and RAM.
 * Never run.
 */
#include <stdint.h>

#include "hil_board.h"

#include "board_stm32_buffers.h"

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
