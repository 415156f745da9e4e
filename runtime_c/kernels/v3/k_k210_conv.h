/* The software KPU of k_k210_conv.c as a function of the 12 register words, for callers other
 * than the interpreter (the recording KPU stand-in of the hardware-port tests,
 * tests/runtime/k210_standin.c). The registers' address fields are not read: the weights, BN and
 * activation tables are passed as pointers. */
#ifndef K_K210_CONV_H
#define K_K210_CONV_H

#include <stddef.h>
#include <stdint.h>

/* Scratch bytes emc_kpu_conv_sw needs for this register block (96 bytes, little-endian words). */
size_t emc_kpu_conv_sw_scratch(const uint8_t *regs);

/* Runs one KPU layer: reads the input map from KPU RAM and writes the output map there (row
 * layouts from the registers). `kpu` is the byte of KPU row `kpu_lo` (the whole 2 MiB: kpu_lo 0).
 * Returns the dense CHW u8 output (W_out*H_out*OC bytes, inside `scratch`: what the KPU streams
 * through fifo_data_out). The registers must have passed the loader's K210_CONV checks. */
const uint8_t *emc_kpu_conv_sw(const uint8_t *regs, const uint8_t *weights, const uint8_t *bn,
                               const uint8_t *act, int eight_bit, uint8_t *kpu, uint32_t kpu_lo,
                               void *scratch);

#endif
