/*
 * Boards whose linker script places the HIL buffers (the QEMU builds: the ld/ scripts define the
 * __hil_* symbols, and the host side preloads models/inputs at those addresses) fill their
 * buffer fields from the symbols with this one helper.
 */
#ifndef HIL_LINKER_BUFFERS_H
#define HIL_LINKER_BUFFERS_H

#include <stdint.h>

#include "hil_board.h"

extern uint8_t __hil_arena_start[], __hil_arena_end[];
extern uint8_t __hil_model_start[], __hil_input_start[], __hil_capture_start[];
extern uint8_t __hil_model_size[], __hil_input_size[], __hil_capture_size[];

static inline void hil_linker_buffers(hil_board_info_t *b)
{
    b->model_buf = __hil_model_start;
    b->model_max = (uint32_t)(uintptr_t)__hil_model_size;
    b->input_buf = __hil_input_start;
    b->input_max = (uint32_t)(uintptr_t)__hil_input_size;
    b->arena = __hil_arena_start;
    b->arena_size = (uint32_t)(__hil_arena_end - __hil_arena_start);
    b->capture_buf = __hil_capture_start;
    b->capture_max = (uint32_t)(uintptr_t)__hil_capture_size;
}

#endif
