/* Host (PC) port: a cycle counter for the per-layer hook; everything else is software. */
#ifndef EMC_PORT_HOST_H
#define EMC_PORT_HOST_H
#include "emc_runtime.h"

/* A port whose `cycles` returns microseconds from a monotonic clock (wraps after ~71 min). */
const emc_port_t *emc_port_host(void);

/* Size of emc_model_t, so that bindings in other languages can allocate it. */
size_t emc_model_struct_size(void);

#endif
