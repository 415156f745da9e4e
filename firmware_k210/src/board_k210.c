/*
 * Board layer of the HIL firmware on a real Kendryte K210 (Sipeed Maix Bit; PlatformIO platform
 * kendryte210, framework kendryte-standalone-sdk). UARTHS at 115200 8N1 (the USB-serial of the
 * board), CPU at 400 MHz, cycles from mcycle. K210_CONV layers run on the runtime's software KPU with
 * the real 2 MiB AI RAM as KPU memory (no hardware-KPU port in runtime_c yet); the QEMU virt build
 * (board_virt.c) is the same firmware on an emulated RV64GC.
 *
 * NOT BUILT IN THIS REPOSITORY'S CI: the kendryte210 platform, the standalone SDK and its RISC-V
 * toolchain come only from PlatformIO's registry (see firmware_k210/platformio.ini).
 */
#include <stdint.h>

#include <encoding.h>
#include <sysctl.h>
#include <uarths.h>

#include "hil_board.h"
#include "hil_protocol.h"

#ifndef HIL_TARGET
#define HIL_TARGET "sipeed-maix-bit"
#endif
#ifndef HIL_MODEL_MAX
#define HIL_MODEL_MAX (2816u * 1024u)
#endif
#ifndef HIL_ARENA_SIZE
#define HIL_ARENA_SIZE (1792u * 1024u)
#endif
#ifndef HIL_INPUT_MAX
#define HIL_INPUT_MAX (256u * 1024u)
#endif
#ifndef HIL_CAPTURE_MAX
#define HIL_CAPTURE_MAX (256u * 1024u)
#endif
#define AI_RAM ((uint8_t *)0x80600000u) /* cached alias of the 2 MiB KPU RAM */

/* .bss.hilbufs: still .bss for the SDK's linker script (zeroed at boot); the name lets the offline
 * fit check (firmware_k210/ld/k210_fitcheck.ld) count them */
#define HIL_BUF_ATTR __attribute__((aligned(128), section(".bss.hilbufs")))
static uint8_t model_buf[HIL_MODEL_MAX] HIL_BUF_ATTR;
static uint8_t input_buf[HIL_INPUT_MAX] HIL_BUF_ATTR;
static uint8_t arena[HIL_ARENA_SIZE] HIL_BUF_ATTR;
static uint8_t capture_buf[HIL_CAPTURE_MAX] HIL_BUF_ATTR;
static uint32_t cycles_per_ms;

int board_getc(void)
{
    return uarths_getc(); /* EOF (-1) when the receive FIFO is empty */
}

void board_write(const uint8_t *p, size_t n)
{
    while (n--)
        uarths_putchar((char)*p++);
}

void board_idle(void) {}

uint32_t board_millis(void)
{
    return (uint32_t)(read_csr(mcycle) / cycles_per_ms);
}

uint64_t board_counter(void)
{
    return read_csr(mcycle);
}

void board_counter_restart(void) {}

void board_reset(void)
{
    sysctl_reset(SYSCTL_RESET_SOC);
    for (;;)
        ;
}

void board_init(hil_board_info_t *b)
{
    sysctl_pll_set_freq(SYSCTL_PLL0, 800000000UL); /* CPU 400 MHz */
    sysctl_clock_enable(SYSCTL_CLOCK_AI);          /* AI RAM usable as memory */
    uarths_init();
    uarths_config(115200, UARTHS_STOP_1);
    cycles_per_ms = sysctl_clock_get_freq(SYSCTL_CLOCK_CPU) / 1000u;

    b->target = HIL_TARGET;
    b->core_clock_hz = sysctl_clock_get_freq(SYSCTL_CLOCK_CPU);
    b->counter_kind = HIL_CNT_CYCLES;
    b->build_flags = HIL_BF_FPU | HIL_BF_SW_KPU;
    b->model_buf = model_buf;
    b->model_max = sizeof model_buf;
    b->input_buf = input_buf;
    b->input_max = sizeof input_buf;
    b->arena = arena;
    b->arena_size = sizeof arena;
    b->capture_buf = capture_buf;
    b->capture_max = sizeof capture_buf;
    b->kpu_ram = AI_RAM;
}

int main(void)
{
    hil_main();
    return 0;
}
