/* Host port: POSIX monotonic clock as the cycle counter. */
#define _POSIX_C_SOURCE 199309L
#include <time.h>

#include "emc_port_host.h"

static uint32_t host_cycles(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

static const emc_port_t host_port = {NULL, NULL, NULL, host_cycles};

const emc_port_t *emc_port_host(void) { return &host_port; }

size_t emc_model_struct_size(void) { return sizeof(emc_model_t); }
