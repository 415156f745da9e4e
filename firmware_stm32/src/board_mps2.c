/*
 * Board layer of the HIL firmware on QEMU MPS2 machines (mps2-an386 = Cortex-M4F, mps2-an500 =
 * Cortex-M7): CMSDK UART0 (interrupt-driven receive into a ring buffer, polled transmit), SysTick as
 * the time base, semihosting exit. Counter: SysTick ticks scaled to virtual nanoseconds, which equal
 * guest instructions when QEMU runs with -icount shift=0 (DWT->CYCCNT reads 0 under QEMU).
 */
#include <stdint.h>

#include "hil_board.h"
#include "hil_linker_buffers.h"
#include "hil_protocol.h"

#ifndef MPS2_SYSCLK_HZ
#define MPS2_SYSCLK_HZ 25000000u
#endif
#ifndef MPS2_TARGET
#define MPS2_TARGET "qemu-m4"
#endif

#define REG(a) (*(volatile uint32_t *)(a))
/* CMSDK APB UART0 */
#define UART0 0x40004000u
#define UART_DATA REG(UART0 + 0x00)
#define UART_STATE REG(UART0 + 0x04)
#define UART_CTRL REG(UART0 + 0x08)
#define UART_INTCLR REG(UART0 + 0x0C)
#define UART_BAUDDIV REG(UART0 + 0x10)
#define ST_TXFULL 1u
#define ST_RXFULL 2u
#define CTRL_TXEN 1u
#define CTRL_RXEN 2u
#define CTRL_RXINTEN 8u
/* System control */
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define NVIC_ISER0 REG(0xE000E100u)
#define SCB_ICSR REG(0xE000ED04u)
#define SCB_AIRCR REG(0xE000ED0Cu)
#define SYST_RELOAD 0xFFFFFFu


static volatile uint8_t ring[8192]; /* > one maximal frame: the host waits for each reply */
static volatile uint32_t ring_head, ring_tail;
static volatile uint32_t wraps;
static uint64_t tick_base;

void UART0RX_Handler(void)
{
    /* clear first: a byte arriving after the drain loop then raises the interrupt again */
    UART_INTCLR = 2u;
    while (UART_STATE & ST_RXFULL) {
        uint32_t h = ring_head;
        if (h - ring_tail >= sizeof ring) {
            /* full: leave the byte in the UART (QEMU then holds the host back) until getc drains */
            UART_CTRL = CTRL_TXEN | CTRL_RXEN;
            break;
        }
        ring[h % sizeof ring] = (uint8_t)UART_DATA;
        ring_head = h + 1;
    }
}

void SysTick_Handler(void)
{
    if (SYST_CSR & (1u << 16)) /* COUNTFLAG: not yet seen by board_counter() */
        wraps++;
}

static uint64_t ticks(void)
{
    uint32_t v, w;
    __asm__ volatile("cpsid i" ::: "memory");
    v = SYST_CVR;
    if (SYST_CSR & (1u << 16)) {
        wraps++;
        v = SYST_CVR;
    }
    w = wraps;
    __asm__ volatile("cpsie i" ::: "memory");
    return tick_base + (uint64_t)w * (SYST_RELOAD + 1u) + (SYST_RELOAD - v);
}

uint64_t board_counter(void)
{
    return ticks() * (1000000000u / MPS2_SYSCLK_HZ);
}

void board_counter_restart(void)
{
    /* Re-phase SysTick so that its wrap interrupts fall at the same instruction of every invoke
     * (deterministic instruction counts under -icount); time keeps increasing. Writing CVR
     * zeroes it until the next clock edge reloads it: wait for that reload. */
    uint32_t guard = 1000;
    __asm__ volatile("cpsid i" ::: "memory");
    tick_base = ticks() + 1u;
    wraps = 0;
    SYST_CVR = 0;
    while (SYST_CVR == 0 && --guard)
        ;
    (void)SYST_CSR;      /* clear COUNTFLAG */
    SCB_ICSR = 1u << 25; /* PENDSTCLR */
    __asm__ volatile("cpsie i" ::: "memory");
}

uint32_t board_millis(void)
{
    return (uint32_t)(ticks() / (MPS2_SYSCLK_HZ / 1000u));
}

int board_getc(void)
{
    uint32_t t = ring_tail;
    int c;
    if (t == ring_head)
        return -1;
    c = ring[t % sizeof ring];
    ring_tail = t + 1;
    if (!(UART_CTRL & CTRL_RXINTEN)) {
        __asm__ volatile("cpsid i" ::: "memory");
        UART_CTRL = CTRL_TXEN | CTRL_RXEN | CTRL_RXINTEN;
        UART0RX_Handler(); /* take the byte left waiting in the UART */
        __asm__ volatile("cpsie i" ::: "memory");
    }
    return c;
}

void board_write(const uint8_t *p, size_t n)
{
    while (n--) {
        while (UART_STATE & ST_TXFULL)
            ;
        UART_DATA = *p++;
    }
}

void board_idle(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
    if (ring_tail == ring_head)
        __asm__ volatile("wfi");
    __asm__ volatile("cpsie i" ::: "memory");
}

static void semihost_exit(uint32_t code)
{
    volatile uint32_t block[2] = {0x20026u, code}; /* ADP_Stopped_ApplicationExit, code */
    register uint32_t r0 __asm__("r0") = 0x20;     /* SYS_EXIT_EXTENDED */
    register volatile uint32_t *r1 __asm__("r1") = block;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
}

void board_fault(uint32_t code)
{
    static const uint8_t msg[] = "\r\nHIL FAULT\r\n";
    board_write(msg, sizeof msg - 1);
    semihost_exit(code);
    for (;;)
        ;
}

void board_reset(void)
{
    SCB_AIRCR = 0x05FA0004u; /* SYSRESETREQ */
    for (;;)
        ;
}

void board_init(hil_board_info_t *b)
{
    UART_BAUDDIV = 16;
    UART_CTRL = CTRL_TXEN | CTRL_RXEN | CTRL_RXINTEN;
    (void)UART_DATA; /* dummy read after enabling RX (else the first byte waits ~1 s in QEMU) */
    UART_INTCLR = 3u;
    NVIC_ISER0 = 1u << 0; /* IRQ 0: UART0 RX */
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, interrupt, enable */
    __asm__ volatile("cpsie i" ::: "memory");

    b->target = MPS2_TARGET;
    b->core_clock_hz = MPS2_SYSCLK_HZ;
    b->counter_kind = HIL_CNT_VNS;
    b->build_flags = HIL_BF_EMULATED | HIL_BF_FPU;
    hil_linker_buffers(b);
}

/* HIL_NO_MAIN: the board layer alone, for programs with their own main (examples/) */
#ifndef HIL_NO_MAIN
int main(void)
{
    hil_main();
    return 0;
}
#endif
