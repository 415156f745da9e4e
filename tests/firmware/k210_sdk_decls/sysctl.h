/* SDK declarations for a compile-only check of board_k210.c (see README.md). */
#ifndef EMC_SDKDECL_SYSCTL_H
#define EMC_SDKDECL_SYSCTL_H
#include <stdint.h>
typedef enum { SYSCTL_DMA_CHANNEL_0 } sysctl_dma_channel_t;
typedef enum { SYSCTL_DMA_SELECT_AI_RX_REQ = 22 } sysctl_dma_select_t;
typedef enum { SYSCTL_PLL0 } sysctl_pll_t;
typedef enum { SYSCTL_CLOCK_CPU = 3, SYSCTL_CLOCK_AI = 11 } sysctl_clock_t;
typedef enum { SYSCTL_RESET_SOC } sysctl_reset_t;
int sysctl_dma_select(sysctl_dma_channel_t channel, sysctl_dma_select_t select);
uint32_t sysctl_pll_set_freq(sysctl_pll_t pll, uint32_t pll_freq);
int sysctl_clock_enable(sysctl_clock_t clock);
uint32_t sysctl_clock_get_freq(sysctl_clock_t clock);
void sysctl_reset(sysctl_reset_t reset);
#endif
