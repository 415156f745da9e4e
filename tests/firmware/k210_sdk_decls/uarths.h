/* SDK declarations for a compile-only check of board_k210.c (see README.md). */
#ifndef EMC_SDKDECL_UARTHS_H
#define EMC_SDKDECL_UARTHS_H
typedef enum { UARTHS_STOP_1 } uarths_stopbit_t;
void uarths_init(void); void uarths_config(unsigned baud, uarths_stopbit_t s); int uarths_getc(void); int uarths_putchar(char c);
#endif
