/* Dense CHW <-> KPU RAM row layout (spec 4.3; SDK kpu_upload_core and its inverse). */
#include "emc_internal.h"

static uint8_t *row_at(uint8_t *base, emc_kpu_layout_t l, uint32_t h, uint32_t c, uint32_t y)
{
    return base + (size_t)(c / l.groups) * l.row_len * h * 64u + (size_t)(c % l.groups) * l.row_pitch +
           (size_t)y * l.row_len * 64u;
}

void emc_kpu_upload(uint8_t *dst, const uint8_t *src, uint32_t w, uint32_t h, uint32_t c)
{
    emc_kpu_layout_t l = emc_kpu_layout(w);
    uint32_t ch, y;
    for (ch = 0; ch < c; ch++)
        for (y = 0; y < h; y++) {
            memmove(row_at(dst, l, h, ch, y), src, w);
            src += w;
        }
}

void emc_kpu_download(uint8_t *dst, const uint8_t *src, uint32_t w, uint32_t h, uint32_t c)
{
    emc_kpu_layout_t l = emc_kpu_layout(w);
    uint32_t ch, y;
    for (ch = 0; ch < c; ch++)
        for (y = 0; y < h; y++) {
            memmove(dst, row_at((uint8_t *)(uintptr_t)src, l, h, ch, y), w);
            dst += w;
        }
}
