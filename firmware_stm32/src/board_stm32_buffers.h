/*
 * The static buffers of the STM32 board layer, sized per board by build flags (platformio.ini).
 * Included by board_stm32.c (the real boards) and by board_fitcheck.c (the offline link check), so
 * the fit check links exactly the buffers the real firmware has. Include once per firmware.
 */
#ifndef BOARD_STM32_BUFFERS_H
#define BOARD_STM32_BUFFERS_H

#include <stdint.h>

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
#define HIL_RING_SIZE 8192u /* more than one maximal frame: the host waits for every reply */
#endif
/* The big buffers go to .bss.hilbufs: the BUFS region of ld/stm32*.ld (H7: AXI SRAM), not zeroed */
#define HIL_BUF_ATTR __attribute__((aligned(128), section(".bss.hilbufs")))

static uint8_t model_buf[HIL_MODEL_MAX] HIL_BUF_ATTR;
static uint8_t input_buf[HIL_INPUT_MAX] HIL_BUF_ATTR;
static uint8_t arena[HIL_ARENA_SIZE] HIL_BUF_ATTR;
static uint8_t capture_buf[HIL_CAPTURE_MAX] HIL_BUF_ATTR;
static volatile uint8_t ring[HIL_RING_SIZE];

#endif
