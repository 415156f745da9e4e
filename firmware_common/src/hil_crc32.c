/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320): same values as zlib.crc32 / binascii.crc32.
 * hil_crc32(0, p, n) is the CRC of p; pass the previous result to continue over more bytes. */
#include "hil_crc32.h"

static uint32_t table[256];
static int table_ready;

static void make_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        table[i] = c;
    }
    table_ready = 1;
}

uint32_t hil_crc32(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    if (!table_ready)
        make_table();
    crc = ~crc;
    while (n--)
        crc = table[(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}
