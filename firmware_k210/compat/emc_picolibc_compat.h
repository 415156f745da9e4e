/*
 * K210 standalone SDK on a picolibc toolchain (Debian's riscv64-unknown-elf-gcc): the SDK was
 * written for the newlib of Kendryte's toolchain. Force-included into every file of the K210 builds
 * (-include emc_picolibc_compat.h, platformio.ini) together with the include directory holding
 * machine/syscall.h. With newlib (toolchain-kendryte210) it changes nothing.
 */
#ifndef EMC_PICOLIBC_COMPAT_H
#define EMC_PICOLIBC_COMPAT_H

#ifndef __ASSEMBLER__
#if defined(__has_include)
#if __has_include(<picolibc.h>)
#include <picolibc.h>
#endif
#endif
#ifdef __PICOLIBC__
/* newlib's <sys/lock.h> type; drivers/iomem.c uses it without declaring it, bsp/locks.c declares
 * the same typedef itself (a repeated identical typedef is valid C11). */
typedef long _lock_t;
#endif
#endif /* __ASSEMBLER__ */

#endif
