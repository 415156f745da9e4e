/* Cortex-M port: DWT cycle counter for the per-layer hook. Build the runtime sources with
 * -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard -std=c99 -ffp-contract=off
 * (FPU enabled in reset code). Optimised kernels (later) replace files of kernels/generic/ one
 * for one, keeping the same check() and arithmetic. */
#ifndef EMC_PORT_CORTEX_M_H
#define EMC_PORT_CORTEX_M_H
#include "emc_runtime.h"

/* A port whose cycles() reads DWT->CYCCNT (enables it on first use). */
const emc_port_t *emc_port_cortex_m(void);

#endif
