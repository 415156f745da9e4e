/* K210 port interface: run K210_CONV layers on the hardware KPU.
 *
 * Fill an emc_port_t with .kpu_ram = (uint8_t *)AI_IO_BASE_ADDR (0x40600000, the 2 MiB AI RAM,
 * so the arena needs no KPU window) and .k210_conv = a function that copies the 12 register
 * words of `layer->regs`, patches para_start_addr / bwsx_base_addr / active_addr with
 * layer->weights / bn / act (minus IOMEM, as SDK kpu.c does), sets send_data_out and DMAs
 * `main_out_size` bytes to layer->main_out when it is not NULL, pushes the words to
 * layer_argument_fifo and waits for completion. Return EMC_E_UNSUPPORTED to fall back to the
 * software KPU model for a layer. The model buffer must be 128-byte aligned (weights/BN/act
 * alignment is by absolute file offset). Not implemented in this tree: no K210 SDK here. */
#ifndef EMC_PORT_K210_H
#define EMC_PORT_K210_H
#include "emc_runtime.h"

emc_status_t emc_k210_conv_hw(void *ctx, const emc_k210_conv_t *layer);

#endif
