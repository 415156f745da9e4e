/*
 * Board layer of the HIL firmware on QEMU virt (RV64GC), standing in for the Kendryte K210: the
 * runtime's software KPU runs K210_CONV layers. 16550 UART at 0x10000000 (polled, the PLIC only
 * wakes WFI), CLINT timer for the time base, exit/reset through the sifive_test device at 0x100000.
 * Counter: minstret (exact instruction count under QEMU -icount shift=0; the real K210 reads
 * mcycle/minstret the same way).
 */
#include <stdint.h>

#include "hil_board.h"
#include "hil_linker_buffers.h"
#include "hil_protocol.h"

#define REG8(a) (*(volatile uint8_t *)(uintptr_t)(a))
#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))
#define REG64(a) (*(volatile uint64_t *)(uintptr_t)(a))

#define UART 0x10000000u
#define UART_RBR REG8(UART + 0)
#define UART_THR REG8(UART + 0)
#define UART_IER REG8(UART + 1)
#define UART_FCR REG8(UART + 2)
#define UART_LCR REG8(UART + 3)
#define UART_MCR REG8(UART + 4)
#define UART_LSR REG8(UART + 5)
#define UART_IRQ 10u
#define PLIC 0x0C000000u
#define PLIC_PRIO(n) REG32(PLIC + 4u * (n))
#define PLIC_EN0 REG32(PLIC + 0x2000u)      /* hart 0, M-mode context */
#define PLIC_THRESH REG32(PLIC + 0x200000u)
#define PLIC_CLAIM REG32(PLIC + 0x200004u)
#define CLINT_MTIMECMP REG64(0x02004000u)
#define CLINT_MTIME REG64(0x0200BFF8u)
#define MTIME_HZ 10000000u
#define TEST_DEV REG32(0x100000u)

#ifndef VIRT_CLOCK_HZ
#define VIRT_CLOCK_HZ 400000000u /* nominal: the K210 runs its cores at 400 MHz */
#endif


void board_fault(uint32_t code);
void board_trap(uint64_t mcause);

int board_getc(void)
{
    if (UART_LSR & 1u)
        return UART_RBR;
    return -1;
}

void board_write(const uint8_t *p, size_t n)
{
    while (n--) {
        while (!(UART_LSR & 0x20u))
            ;
        UART_THR = *p++;
    }
}

void board_idle(void)
{
    uint32_t id;
    /* wake on UART receive (PLIC -> MEIP) or after 10 ms (MTIP); interrupts stay globally off */
    CLINT_MTIMECMP = CLINT_MTIME + MTIME_HZ / 100u;
    if (!(UART_LSR & 1u))
        __asm__ volatile("wfi");
    id = PLIC_CLAIM;
    if (id)
        PLIC_CLAIM = id;
}

uint32_t board_millis(void)
{
    return (uint32_t)(CLINT_MTIME / (MTIME_HZ / 1000u));
}

uint64_t board_counter(void)
{
    uint64_t v;
    __asm__ volatile("csrr %0, minstret" : "=r"(v));
    return v;
}

void board_counter_restart(void) {}

static void finish(uint32_t v)
{
    TEST_DEV = v;
    for (;;)
        __asm__ volatile("wfi");
}

void board_reset(void)
{
    finish(0x7777u); /* sifive_test: FINISHER_RESET */
}

void board_fault(uint32_t code)
{
    static const uint8_t msg[] = "\r\nHIL FAULT\r\n";
    board_write(msg, sizeof msg - 1);
    finish(0x3333u | (code << 16));
}

void board_trap(uint64_t mcause)
{
    (void)mcause;
    board_fault(3);
}

void board_init(hil_board_info_t *b)
{
    UART_IER = 0;
    UART_LCR = 0x03; /* 8N1 */
    UART_FCR = 0x07; /* FIFO on, both cleared (empties it: done once, before any traffic) */
    UART_MCR = 0x08; /* OUT2: route the interrupt */
    UART_IER = 0x01; /* receive data available */
    PLIC_PRIO(UART_IRQ) = 1;
    PLIC_THRESH = 0;
    PLIC_EN0 = 1u << UART_IRQ;
    __asm__ volatile("csrs mie, %0" ::"r"((1u << 11) | (1u << 7))); /* MEIE, MTIE (mstatus.MIE off) */

    b->target = "qemu-rv64";
    b->core_clock_hz = VIRT_CLOCK_HZ;
    b->counter_kind = HIL_CNT_INSNS;
    b->build_flags = HIL_BF_EMULATED | HIL_BF_FPU | HIL_BF_SW_KPU;
    hil_linker_buffers(b);
}

int main(void)
{
    hil_main();
    return 0;
}
