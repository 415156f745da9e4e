/* Loader (validation + arena layout), input/output access and the interpreter loop. */
#include "emc_internal.h"

static const char *const status_text[EMC_STATUS_COUNT] = {
    "ok",
    "bad argument",
    "file truncated",
    "kmodel v4 (nncase v0.2) is not supported",
    "kmodel v5+ (nncase v1) is not supported",
    "not a kmodel v3 file",
    "unsupported arch (v3 needs arch 0)",
    "impossible header values",
    "layer type not implemented by this runtime",
    "inconsistent layer body",
    "tensor range outside main memory or KPU RAM",
    "arena too small",
    "model input cannot be determined from its first layer",
    "index out of range",
    "size mismatch",
    "model not loaded",
    "port failure",
    "unsupported on this build",
    "byte-swapped kmodel v3 (big-endian 32-bit words, as in a K210 flash image)",
};

const char *emc_status_str(emc_status_t status)
{
    if ((unsigned)status >= (unsigned)EMC_STATUS_COUNT)
        return "unknown status";
    return status_text[status];
}

/* ---- check helpers ------------------------------------------------------------------------ */

emc_status_t emc_fail(emc_check_t *c, emc_status_t s, uint32_t field)
{
    c->err.status = s;
    c->err.layer = (int32_t)c->b->index;
    c->err.offset = (int32_t)(c->b->offset + 4u * field);
    return s;
}

emc_status_t emc_chk_main(emc_check_t *c, uint32_t field, uint64_t addr, uint64_t size)
{
    if (addr > c->main_mem_usage || size > (uint64_t)c->main_mem_usage - addr)
        return emc_fail(c, EMC_E_RANGE, field);
    return EMC_OK;
}

emc_status_t emc_chk_main_slack(emc_check_t *c, uint32_t field, uint64_t addr, uint64_t size)
{
    uint64_t limit = (uint64_t)c->main_mem_usage + EMC_MAIN_SLACK;
    if (addr > limit || size > limit - addr)
        return emc_fail(c, EMC_E_RANGE, field);
    return EMC_OK;
}

emc_status_t emc_chk_kpu(emc_check_t *c, uint32_t field, uint64_t row, uint64_t size)
{
    uint64_t start = row * EMC_KPU_ROW_BYTES, end_row;
    if (row >= EMC_KPU_ROWS || size > EMC_KPU_RAM_BYTES - start)
        return emc_fail(c, EMC_E_RANGE, field);
    if (size == 0)
        return EMC_OK;
    end_row = (start + size + EMC_KPU_ROW_BYTES - 1) / EMC_KPU_ROW_BYTES;
    if (c->kpu_hi == 0) {
        c->kpu_lo = (uint32_t)row;
        c->kpu_hi = (uint32_t)end_row;
    } else {
        if (row < c->kpu_lo)
            c->kpu_lo = (uint32_t)row;
        if (end_row > c->kpu_hi)
            c->kpu_hi = (uint32_t)end_row;
    }
    return EMC_OK;
}

emc_status_t emc_chk_tail(emc_check_t *c, uint32_t field, uint64_t off, uint64_t len)
{
    if (off > c->b->size || len > (uint64_t)c->b->size - off)
        return emc_fail(c, EMC_E_TRUNCATED, field);
    return EMC_OK;
}

void emc_need_scratch(emc_check_t *c, size_t bytes)
{
    if (bytes > c->scratch)
        c->scratch = bytes;
}

void emc_need_cpu_scratch(emc_check_t *c, size_t bytes)
{
    if (bytes > c->cpu_scratch)
        c->cpu_scratch = bytes;
}

void emc_set_out(emc_check_t *c, int in_kpu, uint32_t addr, uint32_t size, emc_dtype_t dt)
{
    memset(&c->out, 0, sizeof c->out);
    c->out.in_kpu = in_kpu;
    c->out.addr = addr;
    c->out.size = size;
    c->out.dtype = dt;
    c->out.rank = 1;
    c->out.shape[0] = (dt == EMC_DT_F32 || dt == EMC_DT_I32) ? size / 4 : size;
    c->has_out = 1;
}

emc_status_t emc_check_main_io(emc_check_t *c, uint32_t f_in, uint64_t in_bytes, uint32_t f_out, uint64_t out_bytes,
                               emc_dtype_t dt)
{
    const emc_body_t *b = c->b;
    if (emc_chk_main(c, f_in, emc_f(b, f_in), in_bytes) || emc_chk_main(c, f_out, emc_f(b, f_out), out_bytes))
        return c->err.status;
    emc_set_out(c, 0, emc_f(b, f_out), (uint32_t)out_bytes, dt);
    return EMC_OK;
}

emc_status_t emc_check_f32_vector(emc_check_t *c)
{
    enum { F_IN = 1, F_OUT = 2, F_CH = 3 };
    uint64_t bytes = (uint64_t)emc_f(c->b, F_CH) * 4u;
    return emc_check_main_io(c, F_IN, bytes, F_OUT, bytes, EMC_DT_F32);
}

uint8_t *emc_kpu_at(emc_exec_t *x, uint32_t addr)
{
    return x->m->kpu + (addr - x->m->kpu_lo * EMC_KPU_ROW_BYTES);
}

/* ---- byte order --------------------------------------------------------------------------- */

/* The version word of a v3 file whose 32-bit words are byte-reversed. */
#define EMC_V3_SWAPPED 0x03000000u

emc_status_t emc_kmodel_fix_byte_order(void *kmodel, size_t size)
{
    uint8_t *f = (uint8_t *)kmodel;
    size_t i;
    if (!f)
        return EMC_E_ARG;
    if (size < 4 || emc_rd32(f) != EMC_V3_SWAPPED)
        return EMC_OK; /* not a swapped v3: nothing to do */
    if (size % 4u)
        return EMC_E_SIZE;
    for (i = 0; i < size; i += 4) {
        uint8_t t0 = f[i], t1 = f[i + 1];
        f[i] = f[i + 3];
        f[i + 1] = f[i + 2];
        f[i + 2] = t1;
        f[i + 3] = t0;
    }
    return EMC_OK;
}

/* ---- whole-file validation ---------------------------------------------------------------- */

typedef struct emc_plan {
    uint32_t flags, layers, outputs, main_mem_usage, body_start;
    uint32_t kpu_lo, kpu_hi;
    size_t scratch, cpu_scratch;
    emc_tensor_t input[EMC_MAX_INPUTS];
    uint32_t inputs, input_addr[EMC_MAX_INPUTS];
    uint32_t input_kind, input_kpu_row, input_layout[4];   /* of input 0 */
    emc_error_t err;
} emc_plan_t;

static emc_status_t hdr_fail(emc_plan_t *p, emc_status_t s, int32_t offset)
{
    p->err.status = s;
    p->err.layer = -1;
    p->err.offset = offset;
    return s;
}

/* Writes one 32-byte output descriptor (dtype, rank, shape[4], scale, zero point). */
static void desc_put(uint8_t *d, const emc_out_t *o)
{
    uint32_t w[8];
    w[0] = (uint32_t)o->dtype;
    w[1] = o->rank;
    w[2] = o->shape[0];
    w[3] = o->shape[1];
    w[4] = o->shape[2];
    w[5] = o->shape[3];
    memcpy(&w[6], &o->scale, 4);
    memcpy(&w[7], &o->zero_point, 4);
    memcpy(d, w, sizeof w);
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Validates everything; if `desc` is not NULL also fills the output descriptors there. */
static emc_status_t validate(const uint8_t *f, size_t size, emc_plan_t *p, uint8_t *desc)
{
    uint32_t version, arch, i, o;
    uint64_t body_start, off;

    memset(p, 0, sizeof *p);
    if (!host_is_little_endian())
        return hdr_fail(p, EMC_E_UNSUPPORTED, -1);
    if (size < 8)
        return hdr_fail(p, EMC_E_TRUNCATED, 0);
    if (f[0] == 'L' && f[1] == 'D' && f[2] == 'M' && f[3] == 'K')
        return hdr_fail(p, emc_rd32(f + 4) == 4 ? EMC_E_VERSION_V4 : EMC_E_VERSION_V5, 4);
    version = emc_rd32(f);
    if (version == EMC_V3_SWAPPED)
        return hdr_fail(p, EMC_E_BYTE_SWAPPED, 0);
    if (version != 3)
        return hdr_fail(p, EMC_E_VERSION, 0);
    if (size < 28)
        return hdr_fail(p, EMC_E_TRUNCATED, 0);
    p->flags = emc_rd32(f + 4);
    arch = emc_rd32(f + 8);
    p->layers = emc_rd32(f + 12);
    p->main_mem_usage = emc_rd32(f + 20);
    p->outputs = emc_rd32(f + 24);
    if (p->flags & ~1u) /* only bit 0 (eight_bit_mode) is defined */
        return hdr_fail(p, EMC_E_HEADER, 4);
    if (arch != 0)
        return hdr_fail(p, EMC_E_ARCH, 8);
    if (emc_rd32(f + 16) > EMC_KPU_ROWS) /* max_start_address */
        return hdr_fail(p, EMC_E_HEADER, 16);
    if (p->layers == 0 || p->layers > size / 8)
        return hdr_fail(p, p->layers == 0 ? EMC_E_HEADER : EMC_E_TRUNCATED, 12);
    if (p->main_mem_usage > EMC_MAX_MAIN_MEM)
        return hdr_fail(p, EMC_E_HEADER, 20);
    if (p->outputs == 0 || p->outputs > size / 8)
        return hdr_fail(p, p->outputs == 0 ? EMC_E_HEADER : EMC_E_TRUNCATED, 24);
    body_start = 28u + 8u * (uint64_t)p->outputs + 8u * (uint64_t)p->layers;
    if (body_start > size)
        return hdr_fail(p, EMC_E_TRUNCATED, 24);
    p->body_start = (uint32_t)body_start;

    for (o = 0; o < p->outputs; o++) {
        uint64_t a = emc_rd32(f + 28 + 8 * o), s = emc_rd32(f + 32 + 8 * o);
        if (s == 0 || a + s > p->main_mem_usage)
            return hdr_fail(p, EMC_E_RANGE, (int32_t)(28 + 8 * o));
        if (desc) {
            emc_out_t raw;
            memset(&raw, 0, sizeof raw);
            raw.dtype = EMC_DT_U8;
            raw.rank = 1;
            raw.shape[0] = (uint32_t)s;
            desc_put(desc + EMC_OUT_DESC_BYTES * o, &raw);
        }
    }

    off = body_start;
    for (i = 0; i < p->layers; i++) {
        const uint8_t *h = f + 28 + 8 * (size_t)p->outputs + 8 * (size_t)i;
        uint32_t type = emc_rd32(h), bsz = emc_rd32(h + 4);
        const emc_kernel_t *k = emc_find_kernel(type);
        emc_body_t b;
        emc_check_t c;
        emc_status_t s;
        uint64_t present;
        int32_t hdr_off = (int32_t)(h - f);

        /* Only the last body may miss (at most 7 bytes of) trailing padding: nncase v0.1. */
        if (off + bsz > size) {
            if (i + 1 != p->layers || off + bsz > (uint64_t)size + 7)
                return hdr_fail(p, EMC_E_TRUNCATED, hdr_off + 4);
            present = size - off;
        } else {
            present = bsz;
        }
        if (!k) {
            p->err.status = EMC_E_LAYER_TYPE;
            p->err.layer = (int32_t)i;
            p->err.offset = hdr_off;
            return EMC_E_LAYER_TYPE;
        }
        if (present < k->min_body) {
            p->err.status = EMC_E_TRUNCATED;
            p->err.layer = (int32_t)i;
            p->err.offset = hdr_off + 4;
            return EMC_E_TRUNCATED;
        }
        b.p = f + off;
        b.size = (uint32_t)present;
        b.offset = (uint32_t)off;
        b.index = i;
        b.type = type;
        memset(&c, 0, sizeof c);
        c.b = &b;
        c.flags = p->flags;
        c.main_mem_usage = p->main_mem_usage;
        c.kpu_lo = p->kpu_lo;
        c.kpu_hi = p->kpu_hi;
        c.scratch = p->scratch;
        c.cpu_scratch = p->cpu_scratch;
        s = k->check(&c);
        if (s != EMC_OK) {
            p->err = c.err;
            if (p->err.status == EMC_OK) { /* a kernel that forgot to say where */
                p->err.status = s;
                p->err.layer = (int32_t)i;
                p->err.offset = (int32_t)off;
            }
            return s;
        }
        p->kpu_lo = c.kpu_lo;
        p->kpu_hi = c.kpu_hi;
        p->scratch = c.scratch;
        p->cpu_scratch = c.cpu_scratch;
        if (i == 0 && c.input_kind == EMC_IN_NONE) {
            p->err.status = EMC_E_NO_INPUT;
            p->err.layer = 0;
            p->err.offset = hdr_off;
            return EMC_E_NO_INPUT;
        }
        if (c.input_kind != EMC_IN_NONE) {
            /* inputs are declared by the leading layers only; more than one only in main memory */
            if (i != p->inputs || i >= EMC_MAX_INPUTS || (i > 0 && c.input_kind != EMC_IN_MAIN)) {
                p->err.status = EMC_E_BODY;
                p->err.layer = (int32_t)i;
                p->err.offset = hdr_off;
                return EMC_E_BODY;
            }
            p->input[i] = c.input;
            p->input_addr[i] = c.input_addr;
            p->inputs++;
            if (i == 0) {
                p->input_kind = c.input_kind;
                p->input_kpu_row = c.input_kpu_row;
                memcpy(p->input_layout, c.input_layout, sizeof p->input_layout);
            }
        }
        /* The output table names byte ranges only: take dtype/shape from the last layer that
         * wrote a main-memory range containing the output. */
        if (desc && c.has_out && !c.out.in_kpu) {
            for (o = 0; o < p->outputs; o++) {
                uint32_t a = emc_rd32(f + 28 + 8 * o), s2 = emc_rd32(f + 32 + 8 * o);
                if (a >= c.out.addr && (uint64_t)a < (uint64_t)c.out.addr + c.out.size) {
                    emc_out_t d = c.out;
                    if (a != c.out.addr || s2 != c.out.size) {
                        d.rank = 1;
                        d.shape[0] = (d.dtype == EMC_DT_F32 || d.dtype == EMC_DT_I32) ? s2 / 4 : s2;
                    }
                    desc_put(desc + EMC_OUT_DESC_BYTES * o, &d);
                }
            }
        }
        off += bsz;
    }
    return EMC_OK;
}

static size_t align16(size_t v) { return (v + 15u) & ~(size_t)15u; }

/* A port with the real KPU RAM and a K210_CONV hook runs every conv in hardware: no KPU window
 * and no software-KPU scratch (its hook may then not decline a layer). CPU kernels' scratch
 * (im2col) is always there; both share one region. */
static int hardware_kpu(const emc_port_t *port) { return port && port->kpu_ram && port->k210_conv; }

static size_t scratch_bytes(const emc_plan_t *p, const emc_port_t *port)
{
    size_t kpu = hardware_kpu(port) ? 0 : p->scratch;
    return align16(kpu > p->cpu_scratch ? kpu : p->cpu_scratch);
}

static size_t arena_bytes(const emc_plan_t *p, const emc_port_t *port)
{
    size_t kpu = (port && port->kpu_ram) ? 0 : (size_t)(p->kpu_hi - p->kpu_lo) * EMC_KPU_ROW_BYTES;
    return align16((size_t)p->main_mem_usage + EMC_MAIN_SLACK) + kpu + scratch_bytes(p, port) +
           (size_t)EMC_OUT_DESC_BYTES * p->outputs;
}

emc_status_t emc_arena_required(const void *kmodel, size_t size, const emc_port_t *port, size_t *bytes)
{
    emc_plan_t p;
    emc_status_t s;
    if (!kmodel || !bytes)
        return EMC_E_ARG;
    s = validate((const uint8_t *)kmodel, size, &p, NULL);
    if (s != EMC_OK)
        return s;
    *bytes = arena_bytes(&p, port);
    return EMC_OK;
}

emc_status_t emc_model_load(emc_model_t *m, const void *kmodel, size_t size, void *arena,
                            size_t arena_size, const emc_port_t *port)
{
    emc_plan_t p;
    emc_status_t s;
    size_t need, main_bytes, kpu_bytes;
    uint8_t *a = (uint8_t *)arena;
    uint32_t i;

    if (!m)
        return EMC_E_ARG;
    memset(m, 0, sizeof *m);
    m->error.layer = -1;
    m->error.offset = -1;
    if (!kmodel || !arena || ((uintptr_t)arena & (EMC_ARENA_ALIGN - 1u)) != 0) {
        m->error.status = EMC_E_ARG;
        return EMC_E_ARG;
    }
    s = validate((const uint8_t *)kmodel, size, &p, NULL);
    if (s != EMC_OK) {
        m->error = p.err;
        return s;
    }
    need = arena_bytes(&p, port);
    if (arena_size < need) {
        m->error.status = EMC_E_ARENA;
        return EMC_E_ARENA;
    }
    memset(a, 0, need);
    main_bytes = align16((size_t)p.main_mem_usage + EMC_MAIN_SLACK);
    kpu_bytes = (port && port->kpu_ram) ? 0 : (size_t)(p.kpu_hi - p.kpu_lo) * EMC_KPU_ROW_BYTES;
    m->kmodel = (const uint8_t *)kmodel;
    m->kmodel_size = size;
    m->flags = p.flags;
    m->layers = p.layers;
    m->outputs = p.outputs;
    m->main_mem_usage = p.main_mem_usage;
    m->body_start = p.body_start;
    m->main = a;
    if (port && port->kpu_ram) {
        m->kpu = port->kpu_ram;
        m->kpu_lo = 0;
        m->kpu_hi = EMC_KPU_ROWS;
    } else {
        m->kpu = a + main_bytes;
        m->kpu_lo = p.kpu_lo;
        m->kpu_hi = p.kpu_hi;
    }
    m->scratch = a + main_bytes + kpu_bytes;
    m->scratch_size = scratch_bytes(&p, port);
    /* Second pass fills the output descriptors (cheap: headers and fixed fields only). */
    (void)validate((const uint8_t *)kmodel, size, &p, a + main_bytes + kpu_bytes + m->scratch_size);
    m->inputs = p.inputs;
    m->inputs_set = 0;
    m->input_kind = p.input_kind;
    m->input_kpu_row = p.input_kpu_row;
    memcpy(m->input_kpu_layout, p.input_layout, sizeof m->input_kpu_layout);
    for (i = 0; i < p.inputs; i++) {
        m->input[i] = p.input[i];
        if (i > 0 || m->input_kind == EMC_IN_MAIN)
            m->input[i].data = m->main + (size_t)p.input_addr[i];
    }
    m->port = port;
    m->loaded = 1;
    m->error.status = EMC_OK;
    return EMC_OK;
}

emc_error_t emc_model_last_error(const emc_model_t *m)
{
    emc_error_t e;
    if (!m) {
        e.status = EMC_E_ARG;
        e.layer = -1;
        e.offset = -1;
        return e;
    }
    return m->error;
}

uint32_t emc_model_layer_count(const emc_model_t *m)
{
    return (m && m->loaded) ? m->layers : 0;
}

/* The body of layer `index`, starting at file offset `off` (validated at load). */
static void body_at(const emc_model_t *m, uint32_t index, uint32_t off, emc_body_t *b, uint32_t *body_size)
{
    const uint8_t *h = m->kmodel + 28 + 8 * (size_t)m->outputs + 8 * (size_t)index;
    uint32_t bsz = emc_rd32(h + 4);
    b->p = m->kmodel + off;
    b->offset = off;
    b->size = (off + (uint64_t)bsz > m->kmodel_size) ? (uint32_t)(m->kmodel_size - off) : bsz;
    b->index = index;
    b->type = emc_rd32(h);
    *body_size = bsz;
}

emc_status_t emc_model_layer_info(const emc_model_t *m, uint32_t index, uint32_t *type, uint32_t *body_size)
{
    emc_body_t b;
    uint32_t i, off, bsz = 0;
    if (!m || !m->loaded)
        return EMC_E_STATE;
    if (index >= m->layers)
        return EMC_E_INDEX;
    /* bodies are not indexed anywhere (no memory for it): walk the table */
    for (i = 0, off = m->body_start; i <= index; i++, off += bsz)
        body_at(m, i, off, &b, &bsz);
    if (type)
        *type = b.type;
    if (body_size)
        *body_size = b.size;
    return EMC_OK;
}

uint32_t emc_model_input_count(const emc_model_t *m)
{
    return (m && m->loaded) ? m->inputs : 0;
}

emc_status_t emc_model_input_at(const emc_model_t *m, uint32_t index, emc_tensor_t *info)
{
    if (!m || !info)
        return EMC_E_ARG;
    if (!m->loaded)
        return EMC_E_STATE;
    if (index >= m->inputs)
        return EMC_E_INDEX;
    *info = m->input[index];
    return EMC_OK;
}

emc_status_t emc_model_input(const emc_model_t *m, emc_tensor_t *info)
{
    return emc_model_input_at(m, 0, info);
}

emc_status_t emc_model_set_input_at(emc_model_t *m, uint32_t index, const void *data, size_t size)
{
    size_t kpu_bytes;
    if (!m || !data)
        return EMC_E_ARG;
    if (!m->loaded)
        return EMC_E_STATE;
    if (index >= m->inputs)
        return EMC_E_INDEX;
    if (size != m->input[index].size)
        return EMC_E_SIZE;
    /* The first input of a run zeroes the main buffer and KPU window so that bytes no layer
     * writes (don't-care pixels, padding) are the same on every run and in the Python reference. */
    if (!m->inputs_set) {
        memset(m->main, 0, (size_t)m->main_mem_usage + EMC_MAIN_SLACK);
        kpu_bytes = (size_t)(m->kpu_hi - m->kpu_lo) * EMC_KPU_ROW_BYTES;
        if (!(m->port && m->port->kpu_ram))
            memset(m->kpu, 0, kpu_bytes);
    }
    m->inputs_set |= 1u << index;
    if (index == 0 && m->input_kind == EMC_IN_KPU) {
        uint8_t *dst = m->kpu + ((size_t)m->input_kpu_row - m->kpu_lo) * EMC_KPU_ROW_BYTES;
        emc_kpu_layout_t l;
        l.groups = m->input_kpu_layout[0];
        l.row_len = m->input_kpu_layout[1];
        l.row_pitch = m->input_kpu_layout[2];
        l.chan_rows = m->input_kpu_layout[3];
        emc_kpu_upload(dst, (const uint8_t *)data, l, m->input[0].shape[2], m->input[0].shape[1],
                       m->input[0].shape[0]);
    } else {
        memcpy(m->input[index].data, data, size);
    }
    return EMC_OK;
}

emc_status_t emc_model_set_input(emc_model_t *m, const void *data, size_t size)
{
    return emc_model_set_input_at(m, 0, data, size);
}

emc_status_t emc_model_set_inputs(emc_model_t *m, const void *data, size_t size)
{
    size_t off = 0, total = 0;
    uint32_t i;
    emc_status_t s;
    if (!m || !data)
        return EMC_E_ARG;
    if (!m->loaded)
        return EMC_E_STATE;
    for (i = 0; i < m->inputs; i++)
        total += m->input[i].size;
    if (size != total)
        return EMC_E_SIZE;
    for (i = 0; i < m->inputs; i++) {
        if ((s = emc_model_set_input_at(m, i, (const uint8_t *)data + off, m->input[i].size)) != EMC_OK)
            return s;
        off += m->input[i].size;
    }
    return EMC_OK;
}

void emc_model_set_hook(emc_model_t *m, emc_layer_hook_t hook, void *user)
{
    if (!m)
        return;
    m->hook = hook;
    m->hook_user = user;
}

emc_status_t emc_model_invoke(emc_model_t *m)
{
    uint32_t i, off;
    if (!m)
        return EMC_E_ARG;
    if (!m->loaded)
        return EMC_E_STATE;
    m->inputs_set = 0;           /* the next set_input starts a new run */
    off = m->body_start;
    for (i = 0; i < m->layers; i++) {
        emc_body_t b;
        emc_exec_t x;
        uint32_t t0 = 0, bsz;
        const emc_kernel_t *k;

        body_at(m, i, off, &b, &bsz);
        k = emc_find_kernel(b.type);
        memset(&x, 0, sizeof x);
        x.m = m;
        x.main = m->main;
        x.b = &b;
        if (m->hook && m->port && m->port->cycles)
            t0 = m->port->cycles(m->port->ctx);
        k->run(&x);
        if (x.status != EMC_OK) {
            m->error.status = x.status;
            m->error.layer = (int32_t)i;
            m->error.offset = (int32_t)off;
            return x.status;
        }
        if (m->hook) {
            uint32_t dt = (m->port && m->port->cycles) ? m->port->cycles(m->port->ctx) - t0 : 0;
            m->hook(m->hook_user, i, b.type, x.out, x.out_size, x.out_dtype, dt);
        }
        off += bsz;
    }
    return EMC_OK;
}

uint32_t emc_model_output_count(const emc_model_t *m)
{
    return (m && m->loaded) ? m->outputs : 0;
}

emc_status_t emc_model_output(const emc_model_t *m, uint32_t index, emc_tensor_t *out)
{
    const uint8_t *d;
    uint32_t w[8];
    size_t main_bytes, kpu_bytes;
    if (!m || !out)
        return EMC_E_ARG;
    if (!m->loaded)
        return EMC_E_STATE;
    if (index >= m->outputs)
        return EMC_E_INDEX;
    main_bytes = align16((size_t)m->main_mem_usage + EMC_MAIN_SLACK);
    kpu_bytes = (m->port && m->port->kpu_ram) ? 0 : (size_t)(m->kpu_hi - m->kpu_lo) * EMC_KPU_ROW_BYTES;
    d = m->main + main_bytes + kpu_bytes + m->scratch_size + EMC_OUT_DESC_BYTES * (size_t)index;
    memcpy(w, d, sizeof w);
    memset(out, 0, sizeof *out);
    out->data = m->main + emc_rd32(m->kmodel + 28 + 8 * (size_t)index);
    out->size = emc_rd32(m->kmodel + 32 + 8 * (size_t)index);
    out->dtype = (emc_dtype_t)w[0];
    out->rank = w[1];
    out->shape[0] = w[2];
    out->shape[1] = w[3];
    out->shape[2] = w[4];
    out->shape[3] = w[5];
    memcpy(&out->scale, &w[6], 4);
    memcpy(&out->zero_point, &w[7], 4);
    return EMC_OK;
}
