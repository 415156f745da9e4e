/* SDK declarations for a compile-only check of board_k210.c (see README.md). */
#ifndef EMC_SDKDECL_DMAC_H
#define EMC_SDKDECL_DMAC_H
#include <stddef.h>
#include <stdint.h>
typedef enum { DMAC_CHANNEL0, DMAC_CHANNEL1, DMAC_CHANNEL2, DMAC_CHANNEL3, DMAC_CHANNEL4, DMAC_CHANNEL5 } dmac_channel_number_t;
typedef enum { DMAC_ADDR_INCREMENT = 0, DMAC_ADDR_NOCHANGE = 1 } dmac_address_increment_t;
typedef enum { DMAC_MSIZE_1, DMAC_MSIZE_4, DMAC_MSIZE_8 } dmac_burst_trans_length_t;
typedef enum { DMAC_TRANS_WIDTH_8, DMAC_TRANS_WIDTH_16, DMAC_TRANS_WIDTH_32, DMAC_TRANS_WIDTH_64 } dmac_transfer_width_t;
void dmac_init(void);
void dmac_set_single_mode(dmac_channel_number_t channel_num, const void *src, void *dest, dmac_address_increment_t src_inc,
                          dmac_address_increment_t dest_inc, dmac_burst_trans_length_t dmac_burst_size,
                          dmac_transfer_width_t dmac_trans_width, size_t block_size);
void dmac_wait_done(dmac_channel_number_t channel_num);
#endif
