/* Internal interface between the loader/interpreter and the per-layer kernels. */
#ifndef EMC_INTERNAL_H
#define EMC_INTERNAL_H

#include <string.h>

#include "emc_runtime.h"

#define EMC_KPU_RAM_BYTES (2u * 1024u * 1024u)
#define EMC_KPU_ROW_BYTES 64u
#define EMC_KPU_ROWS (EMC_KPU_RAM_BYTES / EMC_KPU_ROW_BYTES)
/* Refuse absurd main buffers before anything is computed (a K210 has 8 MiB of RAM in all). */
#define EMC_MAX_MAIN_MEM (64u * 1024u * 1024u)
/* Bytes per output descriptor kept at the end of the arena. */
#define EMC_OUT_DESC_BYTES 32u

/* Where a kernel's input tensor comes from (set by the first layer's check). */
enum {
    EMC_IN_NONE = 0,
    EMC_IN_MAIN = 1,     /* dense bytes at main + input address */
    EMC_IN_KPU = 2       /* u8 CHW scattered into KPU row layout at input_kpu_row */
};

/* One layer body as stored in the file. */
typedef struct emc_body {
    const uint8_t *p;      /* first byte of the body */
    uint32_t size;         /* bytes present in the file (the last body may miss its padding) */
    uint32_t offset;       /* absolute file offset of the body */
    uint32_t index;
    uint32_t type;
} emc_body_t;

/* A tensor a layer writes (what the per-layer hook and the output table see). */
typedef struct emc_out {
    int in_kpu;            /* 1: KPU RAM byte address, 0: main buffer offset */
    uint32_t addr, size;
    emc_dtype_t dtype;
    uint32_t rank, shape[4];
    float scale;
    int32_t zero_point;
} emc_out_t;

/* Loader-side validation context handed to kernel check functions. */
typedef struct emc_check {
    const emc_body_t *b;
    uint32_t flags;            /* header flags */
    uint32_t main_mem_usage;
    uint32_t kpu_lo, kpu_hi;   /* KPU rows touched so far */
    size_t scratch;            /* largest software-KPU scratch so far (none with a hardware KPU) */
    size_t cpu_scratch;        /* largest CPU-kernel scratch so far (im2col of the DSP kernels) */
    emc_error_t err;
    emc_out_t out;             /* set by the kernel: the tensor this layer produces */
    int has_out;
    emc_tensor_t input;        /* set by a layer that declares a model input (layers 0..n-1) */
    uint32_t input_kind, input_kpu_row, input_addr;
    uint32_t input_layout[4];  /* KPU input: groups, row_len, row_pitch, chan_rows */
} emc_check_t;

/* Interpreter-side context for kernels. */
typedef struct emc_exec {
    emc_model_t *m;
    uint8_t *main;
    const emc_body_t *b;
    /* Set by the kernel for the per-layer hook (dense view of its output). */
    const void *out;
    size_t out_size;
    emc_dtype_t out_dtype;
    emc_status_t status;       /* a kernel may fail only through a port hook */
} emc_exec_t;

typedef struct emc_kernel {
    uint32_t type;
    uint32_t min_body;         /* fixed part; the loader checks it before calling check */
    const char *name;
    emc_status_t (*check)(emc_check_t *c);
    void (*run)(emc_exec_t *x);
} emc_kernel_t;

const emc_kernel_t *emc_find_kernel(uint32_t type);

/* ---- little-endian field access (files are LE; bodies need no alignment) ---------------- */
static inline uint32_t emc_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline int32_t emc_rdi32(const uint8_t *p)
{
    uint32_t u = emc_rd32(p);
    int32_t v;
    memcpy(&v, &u, 4);
    return v;
}
static inline uint64_t emc_rd64(const uint8_t *p)
{
    return (uint64_t)emc_rd32(p) | ((uint64_t)emc_rd32(p + 4) << 32);
}
static inline float emc_rdf32(const uint8_t *p)
{
    uint32_t u = emc_rd32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}
/* Field i (u32) of the fixed part of the body. */
static inline uint32_t emc_f(const emc_body_t *b, uint32_t i) { return emc_rd32(b->p + 4u * i); }
static inline int32_t emc_fi(const emc_body_t *b, uint32_t i) { return emc_rdi32(b->p + 4u * i); }
static inline float emc_ff(const emc_body_t *b, uint32_t i) { return emc_rdf32(b->p + 4u * i); }

/* Host-endian f32 tensors in the main buffer (the runtime refuses big-endian hosts at load). */
static inline float emc_ldf(const uint8_t *p)
{
    float f;
    memcpy(&f, p, 4);
    return f;
}
static inline void emc_stf(uint8_t *p, float f) { memcpy(p, &f, 4); }

/* ---- check helpers (all return EMC_OK or record the error in c->err) -------------------- */
emc_status_t emc_fail(emc_check_t *c, emc_status_t s, uint32_t field);
/* field = index of the u32 field in the body, for the error offset. */
emc_status_t emc_chk_main(emc_check_t *c, uint32_t field, uint64_t addr, uint64_t size);
/* Like emc_chk_main but allows up to EMC_MAIN_SLACK bytes past main_mem_usage. */
emc_status_t emc_chk_main_slack(emc_check_t *c, uint32_t field, uint64_t addr, uint64_t size);
/* KPU RAM bytes [row*64 + off, +size): must lie inside the 2 MiB; extends the window. */
emc_status_t emc_chk_kpu(emc_check_t *c, uint32_t field, uint64_t row, uint64_t size);
/* A body-relative byte range [off, off+len) must lie in the bytes present. */
emc_status_t emc_chk_tail(emc_check_t *c, uint32_t field, uint64_t off, uint64_t len);
void emc_need_scratch(emc_check_t *c, size_t bytes);
/* Scratch of a CPU kernel (e.g. the Cortex-M DSP conv's im2col columns): counted for every port
 * and every build, so the arena never depends on which kernels are compiled in. It shares the
 * scratch region with the software KPU (m->scratch, size max of both). */
void emc_need_cpu_scratch(emc_check_t *c, size_t bytes);
void emc_set_out(emc_check_t *c, int in_kpu, uint32_t addr, uint32_t size, emc_dtype_t dt);
/* The usual one-in, one-out main-memory layer: in_bytes at the address in body field f_in and out_bytes
 * at f_out, both inside main memory; the output is the out_bytes at f_out, of type dt. */
emc_status_t emc_check_main_io(emc_check_t *c, uint32_t f_in, uint64_t in_bytes, uint32_t f_out, uint64_t out_bytes,
                               emc_dtype_t dt);
/* The check of every f32 vector body {flags, in, out, channels} (L2_NORMALIZATION, SOFTMAX,
 * LOGISTIC): both ranges inside main memory; the output is the f32 vector at `out`. */
emc_status_t emc_check_f32_vector(emc_check_t *c);

/* ---- exec helpers --------------------------------------------------------------------- */
/* Pointer to KPU RAM byte address `addr` (validated at load). */
uint8_t *emc_kpu_at(emc_exec_t *x, uint32_t addr);
static inline void emc_out_main(emc_exec_t *x, uint32_t addr, size_t size, emc_dtype_t dt)
{
    x->out = x->main + addr;
    x->out_size = size;
    x->out_dtype = dt;
}

/* ---- KPU row layout (spec 4.3) --------------------------------------------------------- */
/* groups: channels packed per 64-byte row; row_len: rows per image line; chan_rows: rows
 * between channel groups (the conv registers' channel_switch_addr). */
typedef struct emc_kpu_layout {
    uint32_t groups, row_len, row_pitch, chan_rows;
} emc_kpu_layout_t;

/* The layout a map of this width and height gets from the SDK / writers. */
static inline emc_kpu_layout_t emc_kpu_layout(uint32_t width, uint32_t height)
{
    emc_kpu_layout_t l;
    if (width <= 16) {
        l.groups = 4; l.row_len = 1;
    } else if (width <= 32) {
        l.groups = 2; l.row_len = 1;
    } else {
        l.groups = 1; l.row_len = (width + 63) / 64;
    }
    l.row_pitch = 64 / l.groups;
    l.chan_rows = l.row_len * height;
    return l;
}
/* Bytes from a map's base to one past its last element (c, h, w >= 1). */
static inline uint64_t emc_kpu_extent(emc_kpu_layout_t l, uint32_t w, uint32_t h, uint32_t c)
{
    return (uint64_t)((c - 1) / l.groups) * l.chan_rows * 64u + (uint64_t)((c - 1) % l.groups) * l.row_pitch +
           (uint64_t)(h - 1) * l.row_len * 64u + w;
}
/* Scatter dense CHW u8 into the row layout at `dst` (byte 0 of the map's base row). */
void emc_kpu_upload(uint8_t *dst, const uint8_t *src, emc_kpu_layout_t l, uint32_t w, uint32_t h, uint32_t c);

#endif /* EMC_INTERNAL_H */
