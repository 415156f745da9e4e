/*
 * EMC embedding example: run the model compiled into flash (model_data.c from `emc export-c`) on a
 * fixed input (example_input.c) and print the class and the counter, e.g. "class 2 cycles 5123".
 * The model is used in place: emc_model_load reads the const array and never writes to it; the only
 * RAM is the arena (size from model_data.h). Clock, UART and counter come from the family's HIL
 * board layer (hil_board.h: firmware_stm32/src/board_stm32.c, board_mps2.c under QEMU,
 * firmware_k210/src/board_k210.c), built with -DHIL_NO_MAIN.
 * -DEXAMPLE_K210_KPU=1: K210_CONV layers on the K210's hardware KPU (runtime_c/ports/k210).
 */
#include <stdint.h>
#include <string.h>

#include "emc_runtime.h"
#include "hil_board.h"
#include "hil_protocol.h"
#include "model_data.h"

extern const void *const example_input; /* EMC_MODEL_INPUT_BYTES bytes (example_input.c) */

#if defined(EXAMPLE_K210_KPU) && EXAMPLE_K210_KPU
#define EXAMPLE_ARENA_SIZE EMC_MODEL_ARENA_SIZE_K210_KPU
#else
#define EXAMPLE_ARENA_SIZE EMC_MODEL_ARENA_SIZE
#endif
static uint8_t arena[EXAMPLE_ARENA_SIZE] __attribute__((aligned(EMC_ARENA_ALIGN)));

static void put(const char *s)
{
    board_write((const uint8_t *)s, strlen(s));
}

static void put_u64(uint64_t v)
{
    char buf[21];
    int i = 20;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    put(buf + i);
}

/* Index of the largest element of an output tensor (first one on ties). */
static uint32_t argmax(const emc_tensor_t *t)
{
    const uint8_t *p = (const uint8_t *)t->data;
    size_t width = (t->dtype == EMC_DT_F32 || t->dtype == EMC_DT_I32) ? 4u : 1u;
    uint32_t i, best = 0, n = (uint32_t)(t->size / width);
    float best_v = 0.0f;
    for (i = 0; i < n; i++) {
        float v;
        if (t->dtype == EMC_DT_F32) {
            memcpy(&v, p + 4u * i, 4);
        } else if (t->dtype == EMC_DT_I32) {
            int32_t q;
            memcpy(&q, p + 4u * i, 4);
            v = (float)q;
        } else {
            v = t->dtype == EMC_DT_I8 ? (float)(int8_t)p[i] : (float)p[i];
        }
        if (i == 0 || v > best_v) {
            best = i;
            best_v = v;
        }
    }
    return best;
}

int main(void)
{
    hil_board_info_t board;
    emc_port_t port;
    emc_model_t m;
    emc_tensor_t out;
    emc_status_t s;
    uint64_t t0, t1;

    memset(&board, 0, sizeof board);
    memset(&port, 0, sizeof port);
    board_init(&board);
#if defined(EXAMPLE_K210_KPU) && EXAMPLE_K210_KPU
    port.kpu_ram = board.kpu_ram;
    port.k210_conv = board.k210_conv;
    port.ctx = board.k210_ctx;
    if (board.model_ready) /* the KPU reads the weights through the uncached alias */
        board.model_ready(emc_model_data, EMC_MODEL_SIZE);
#endif
    s = emc_model_load(&m, emc_model_data, EMC_MODEL_SIZE, arena, sizeof arena, &port);
    if (s == EMC_OK)
        s = emc_model_set_input(&m, example_input, EMC_MODEL_INPUT_BYTES);
    t0 = board_counter();
    if (s == EMC_OK)
        s = emc_model_invoke(&m);
    t1 = board_counter();
    if (s == EMC_OK)
        s = emc_model_output(&m, 0, &out);
    if (s != EMC_OK) {
        put("error: ");
        put(emc_status_str(s));
    } else {
        put("class ");
        put_u64(argmax(&out));
        put(board.counter_kind == HIL_CNT_CYCLES ? " cycles " : " counter ");
        put_u64(t1 - t0);
    }
    put("\r\n");
    for (;;)
        board_idle();
}
