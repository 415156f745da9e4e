/* Cortex-M port: DWT->CYCCNT as the cycle counter (reads 0 under QEMU). */
#include "emc_port_cortex_m.h"

#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

static uint32_t cm_cycles(void *ctx)
{
    (void)ctx;
    if (!(DWT_CTRL & 1u)) {
        DEMCR |= 1u << 24; /* TRCENA */
        DWT_CYCCNT = 0;
        DWT_CTRL |= 1u;
    }
    return DWT_CYCCNT;
}

static const emc_port_t cm_port = {0, 0, 0, cm_cycles};

const emc_port_t *emc_port_cortex_m(void) { return &cm_port; }
