/*
 * K210 standalone SDK on a picolibc toolchain: the C library's three hooks the SDK provides for
 * newlib through its system-call trap (bsp/syscalls.c: sys_exit, sys_brk, sys_write to UARTHS)
 * are wired to the same SDK code here. Compiles to nothing with newlib (toolchain-kendryte210).
 */
#include "emc_picolibc_compat.h"

#ifdef __PICOLIBC__
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <syscalls.h>
#include <uarths.h>

/* exit() ends in _exit: the SDK's sys_exit (logs the code, stops the core) */
void _exit(int code)
{
    sys_exit(code);
}

/* malloc's heap: the SDK's [_heap_start, _heap_end) of lds/kendryte.ld, the same cursor
 * (_heap_cur) its sys_brk moves, so iomem_malloc's bookkeeping (_heap_line) stays right. */
extern char _heap_start[];
extern char _heap_end[];
extern char *_heap_cur;
extern char *_heap_line;

void *sbrk(ptrdiff_t incr)
{
    char *old = _heap_cur;
    char *next = old + incr;
    if (next < _heap_start || next > _heap_end) {
        errno = ENOMEM;
        return (void *)-1;
    }
    _heap_cur = next;
    if (next > _heap_line)
        _heap_line = next;
    return old;
}

/* stdout/stderr: UARTHS, as the SDK's sys_write does for file descriptors 1 and 2 */
static int uarths_put(char c, FILE *f)
{
    (void)f;
    uarths_putchar(c);
    return (unsigned char)c;
}

static FILE emc_uarths_stream = FDEV_SETUP_STREAM(uarths_put, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdout = &emc_uarths_stream;
FILE *const stderr = &emc_uarths_stream;
FILE *const stdin = NULL;
#endif
