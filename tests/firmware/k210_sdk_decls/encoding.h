/* SDK declarations for a compile-only check of board_k210.c (see README.md). */
#ifndef EMC_SDKDECL_ENCODING_H
#define EMC_SDKDECL_ENCODING_H
#define read_csr(reg) ({ unsigned long __tmp; asm volatile ("csrr %0, " #reg : "=r"(__tmp)); __tmp; })
#endif
