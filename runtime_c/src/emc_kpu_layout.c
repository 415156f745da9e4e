/* Dense CHW -> KPU RAM row layout (spec 4.3; SDK kpu_upload_core). */
#include "emc_internal.h"

static size_t row_at(emc_kpu_layout_t l, uint32_t c, uint32_t y)
{
    return (size_t)(c / l.groups) * l.chan_rows * 64u + (size_t)(c % l.groups) * l.row_pitch +
           (size_t)y * l.row_len * 64u;
}

void emc_kpu_upload(uint8_t *dst, const uint8_t *src, emc_kpu_layout_t l, uint32_t w, uint32_t h, uint32_t c)
{
    uint32_t ch, y;
    for (ch = 0; ch < c; ch++)
        for (y = 0; y < h; y++) {
            memmove(dst + row_at(l, ch, y), src, w);
            src += w;
        }
}
