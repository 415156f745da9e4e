/*
 * Stand-in for the EMC C runtime, used only when runtime_c/src is absent (RUNTIME=stub): lets the
 * HIL protocol and the boards be built and tested on their own. Reads the kmodel v3 header and
 * tables but computes nothing real: "outputs" are a CRC-derived byte pattern of the input.
 * HELLO reports HIL_BF_STUB so no host can mistake these outputs for a model's.
 */
#include <string.h>

#include "emc_runtime.h"
#include "hil_crc32.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

const char *emc_status_str(emc_status_t s)
{
    return s == EMC_OK ? "ok" : "stub runtime error";
}

static emc_status_t check(const uint8_t *k, size_t size, uint32_t *mem)
{
    uint32_t layers, outs;
    if (!k || size < 28)
        return EMC_E_TRUNCATED;
    if (rd32(k) != 3)
        return EMC_E_VERSION;
    layers = rd32(k + 12);
    outs = rd32(k + 24);
    if (!layers || layers > 4096 || outs > 64 || 28u + 8u * (outs + layers) > size)
        return EMC_E_HEADER;
    *mem = rd32(k + 20);
    if (*mem > (64u << 20))
        return EMC_E_HEADER;
    return EMC_OK;
}

emc_status_t emc_arena_required(const void *kmodel, size_t size, const emc_port_t *port, size_t *bytes)
{
    uint32_t mem = 0;
    emc_status_t st = check((const uint8_t *)kmodel, size, &mem);
    (void)port;
    if (st == EMC_OK && bytes)
        *bytes = mem + EMC_MAIN_SLACK;
    return st;
}

emc_status_t emc_model_load(emc_model_t *m, const void *kmodel, size_t size, void *arena, size_t arena_size,
                            const emc_port_t *port)
{
    uint32_t mem = 0;
    emc_status_t st = check((const uint8_t *)kmodel, size, &mem);
    memset(m, 0, sizeof *m);
    m->error.status = st;
    if (st != EMC_OK)
        return st;
    if (arena_size < mem + EMC_MAIN_SLACK)
        return m->error.status = EMC_E_ARENA;
    m->kmodel = (const uint8_t *)kmodel;
    m->kmodel_size = size;
    m->layers = rd32(m->kmodel + 12);
    m->outputs = rd32(m->kmodel + 24);
    m->main_mem_usage = mem;
    m->main = (uint8_t *)arena;
    m->port = port;
    m->loaded = 1;
    return EMC_OK;
}

emc_error_t emc_model_last_error(const emc_model_t *m) { return m->error; }
uint32_t emc_model_layer_count(const emc_model_t *m) { return m->layers; }

emc_status_t emc_model_layer_info(const emc_model_t *m, uint32_t i, uint32_t *type, uint32_t *body)
{
    const uint8_t *h = m->kmodel + 28 + 8 * m->outputs + 8 * i;
    if (i >= m->layers)
        return EMC_E_INDEX;
    *type = rd32(h);
    *body = rd32(h + 4);
    return EMC_OK;
}

emc_status_t emc_model_input(const emc_model_t *m, emc_tensor_t *info)
{
    memset(info, 0, sizeof *info);
    info->data = m->main;
    info->size = m->input[0].size;
    return m->loaded ? EMC_OK : EMC_E_STATE;
}

emc_status_t emc_model_set_input(emc_model_t *m, const void *data, size_t size)
{
    if (!m->loaded)
        return EMC_E_STATE;
    if (size > m->main_mem_usage)
        return EMC_E_SIZE;
    memcpy(m->main, data, size);
    m->input[0].size = size;
    return EMC_OK;
}

/* the stub knows one input only */
uint32_t emc_model_input_count(const emc_model_t *m)
{
    return m->loaded ? 1 : 0;
}

emc_status_t emc_model_input_at(const emc_model_t *m, uint32_t index, emc_tensor_t *info)
{
    return index == 0 ? emc_model_input(m, info) : EMC_E_INDEX;
}

emc_status_t emc_model_set_inputs(emc_model_t *m, const void *data, size_t size)
{
    return emc_model_set_input(m, data, size);
}

void emc_model_set_hook(emc_model_t *m, emc_layer_hook_t hook, void *user)
{
    m->hook = hook;
    m->hook_user = user;
}

emc_status_t emc_model_invoke(emc_model_t *m)
{
    uint32_t crc, i, t0;
    if (!m->loaded)
        return EMC_E_STATE;
    crc = hil_crc32(0, m->main, m->input[0].size);
    for (i = 0; i < m->layers; i++) {
        uint32_t type, body;
        t0 = m->port && m->port->cycles ? m->port->cycles(m->port->ctx) : 0;
        emc_model_layer_info(m, i, &type, &body);
        crc = hil_crc32(crc, &i, sizeof i);
        if (m->hook)
            m->hook(m->hook_user, i, type, &crc, sizeof crc, EMC_DT_U8,
                    (m->port && m->port->cycles ? m->port->cycles(m->port->ctx) : 0) - t0);
    }
    for (i = 0; i < m->outputs; i++) {
        const uint8_t *o = m->kmodel + 28 + 8 * i;
        uint32_t addr = rd32(o), size = rd32(o + 4), j;
        if (addr > m->main_mem_usage || size > m->main_mem_usage - addr)
            return EMC_E_RANGE;
        for (j = 0; j < size; j++)
            m->main[addr + j] = (uint8_t)(crc >> (8 * (j & 3)));
    }
    return EMC_OK;
}

uint32_t emc_model_output_count(const emc_model_t *m) { return m->outputs; }

emc_status_t emc_model_output(const emc_model_t *m, uint32_t index, emc_tensor_t *out)
{
    const uint8_t *o;
    if (index >= m->outputs)
        return EMC_E_INDEX;
    o = m->kmodel + 28 + 8 * index;
    memset(out, 0, sizeof *out);
    out->data = m->main + rd32(o);
    out->size = rd32(o + 4);
    out->dtype = EMC_DT_F32;
    out->rank = 1;
    out->shape[0] = (uint32_t)(out->size / 4);
    return EMC_OK;
}
