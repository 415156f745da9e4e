#ifndef HIL_CRC32_H
#define HIL_CRC32_H
#include <stddef.h>
#include <stdint.h>
uint32_t hil_crc32(uint32_t crc, const void *data, size_t n);
#endif
