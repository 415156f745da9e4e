/*
 * Board layer of the HIL firmware on a real Kendryte K210 (Sipeed Maix Bit; PlatformIO platform
 * kendryte210, framework kendryte-standalone-sdk). UARTHS at 115200 8N1 (the USB-serial of the
 * board), CPU at 400 MHz, cycles from mcycle. K210_CONV layers run on the hardware KPU through
 * runtime_c/ports/k210 (registers at 0x40800000, the 2 MiB AI RAM through its uncached alias
 * 0x40600000 as the runtime's KPU memory, KPU -> main memory by DMAC channel 5 on the AI_RX
 * request line, the model published to the uncached alias once per load as SDK kpu_load_kmodel
 * does); CPU layers run the portable kernels. -DHIL_K210_SW_KPU builds the software KPU instead
 * (AI RAM through the cached alias). The QEMU virt build (board_virt.c) is the same firmware on an
 * emulated RV64GC with the software KPU.
 *
 * Built with PlatformIO (platformio.ini) or, offline, by `nox -s boards -- --vendor DIR` (emc/boards.py:
 * the same env against the Kendryte standalone SDK in DIR, through firmware_k210/compat on picolibc
 * toolchains). The port code itself is tested on the host against a recording KPU stand-in
 * (tests/runtime/test_k210_port.py). -DHIL_NO_MAIN leaves main() to the program (examples/).
 */
#include <stdint.h>

#include <dmac.h>
#include <encoding.h>
#include <sysctl.h>
#include <uarths.h>

#include "hil_board.h"
#include "hil_protocol.h"
#ifndef HIL_K210_SW_KPU
#include "emc_port_k210.h"
#endif

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
#define AI_RAM ((uint8_t *)0x80600000u) /* cached alias of the 2 MiB KPU RAM (software KPU) */
#ifndef HIL_K210_KPU_DMA
#define HIL_K210_KPU_DMA DMAC_CHANNEL5 /* KPU fifo_data_out -> main memory */
#endif

/* .bss.hilbufs: still .bss for the SDK's linker script (zeroed at boot); the name lets the offline
 * fit check (firmware_k210/ld/k210_fitcheck.ld) count them */
#define HIL_BUF_ATTR __attribute__((aligned(128), section(".bss.hilbufs")))
static uint8_t model_buf[HIL_MODEL_MAX] HIL_BUF_ATTR;
static uint8_t input_buf[HIL_INPUT_MAX] HIL_BUF_ATTR;
static uint8_t arena[HIL_ARENA_SIZE] HIL_BUF_ATTR;
static uint8_t capture_buf[HIL_CAPTURE_MAX] HIL_BUF_ATTR;
static uint32_t cycles_per_ms;

#ifndef HIL_K210_SW_KPU
static emc_k210_t kpu;

/* The data mover of the port: what SDK kpu_conv programs for a layer with main-memory output. */
static emc_status_t kpu_dma_start(void *user, volatile uint64_t *src, void *dst, uint32_t words)
{
    (void)user;
    sysctl_dma_select((sysctl_dma_channel_t)HIL_K210_KPU_DMA, SYSCTL_DMA_SELECT_AI_RX_REQ);
    dmac_set_single_mode(HIL_K210_KPU_DMA, (const void *)src, dst, DMAC_ADDR_NOCHANGE, DMAC_ADDR_INCREMENT,
                         DMAC_MSIZE_8, DMAC_TRANS_WIDTH_64, words);
    return EMC_OK;
}

static emc_status_t kpu_dma_wait(void *user)
{
    (void)user;
    dmac_wait_done(HIL_K210_KPU_DMA);
    return EMC_OK;
}

static void kpu_model_ready(const uint8_t *model, uint32_t size)
{
    emc_k210_publish(&kpu, model, size);
}
#endif

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
#ifdef HIL_K210_SW_KPU
    b->build_flags = HIL_BF_FPU | HIL_BF_SW_KPU;
    b->kpu_ram = AI_RAM;
#else
    dmac_init();
    emc_k210_init(&kpu); /* KPU 0x40800000, AI RAM 0x40600000, IOMEM 0x40000000, polled calc_done */
    kpu.mover.start = kpu_dma_start;
    kpu.mover.wait = kpu_dma_wait;
    b->build_flags = HIL_BF_FPU | HIL_BF_HW_KPU;
    b->kpu_ram = kpu.ai_ram;
    b->k210_conv = emc_k210_conv_hw;
    b->k210_ctx = &kpu;
    b->model_ready = kpu_model_ready;
#endif
    b->model_buf = model_buf;
    b->model_max = sizeof model_buf;
    b->input_buf = input_buf;
    b->input_max = sizeof input_buf;
    b->arena = arena;
    b->arena_size = sizeof arena;
    b->capture_buf = capture_buf;
    b->capture_max = sizeof capture_buf;
}

/* HIL_NO_MAIN: the board layer alone, for programs with their own main (examples/) */
#ifndef HIL_NO_MAIN
int main(void)
{
    hil_main();
    return 0;
}
#endif
