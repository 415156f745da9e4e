/*
 * EMC HIL firmware core: frame receiver, command dispatch, model/input/capture handling around the
 * EMC C runtime. Target independent; the board supplies I/O, timers and memory (hil_board.h).
 * Protocol: docs/hil_protocol.md. Never blocks on a partial frame and never hangs on an error:
 * every problem becomes an HIL_ERROR frame.
 */
#include <stdint.h>
#include <string.h>

#include "emc_runtime.h"
#include "hil_board.h"
#include "hil_crc32.h"
#include "hil_protocol.h"

#ifndef HIL_MAX_PAYLOAD
#define HIL_MAX_PAYLOAD 4096u
#endif
#ifndef HIL_TRACE_MAX
#define HIL_TRACE_MAX 256u
#endif
#ifndef HIL_FW_VERSION
#define HIL_FW_VERSION 0x000100u /* 0.1.0 */
#endif
#ifndef HIL_FW_VERSION_STR
#define HIL_FW_VERSION_STR "0.1.0"
#endif
#ifndef HIL_EXTRA_BUILD_FLAGS
#define HIL_EXTRA_BUILD_FLAGS 0u
#endif
#define HIL_STR_(x) #x
#define HIL_STR(x) HIL_STR_(x)

/* ------------------------------------------------------------------------------------------ */
/* little-endian helpers */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint8_t *wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}

static uint8_t *wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    return p + 4;
}

static uint8_t *wr64(uint8_t *p, uint64_t v)
{
    p = wr32(p, (uint32_t)v);
    return wr32(p, (uint32_t)(v >> 32));
}

static uint8_t *wrstr(uint8_t *p, const uint8_t *end, const char *s)
{
    while (*s && p < end - 1)
        *p++ = (uint8_t)*s++;
    if (p < end)
        *p++ = 0;
    return p;
}

/* ------------------------------------------------------------------------------------------ */
/* state */

static hil_board_info_t B;
static uint8_t rx[HIL_OVERHEAD + HIL_MAX_PAYLOAD];
static uint8_t tx_hdr[64 + 256]; /* fixed part of a reply (data chunks are sent from where they are) */

static emc_model_t model;
static int model_loaded;
static uint32_t model_size, model_crc, model_declared;
static int have_result;

typedef struct trace_rec {
    uint32_t type, size, dtype, crc, rt_cycles;
    uint64_t t;
} trace_rec_t;
static trace_rec_t trace[HIL_TRACE_MAX];
static uint32_t trace_layers;

static uint32_t inv_flags;
static int32_t cap_request = -1;
static int32_t cap_index = -1;
static uint32_t cap_type, cap_dtype, cap_size, cap_stored;
static uint64_t inv_t0;

/* ------------------------------------------------------------------------------------------ */
/* sending */

static void send_frame2(uint8_t cmd, uint8_t seq, const uint8_t *a, uint32_t na, const uint8_t *b,
                        uint32_t nb)
{
    uint8_t h[HIL_HEADER_SIZE], c[4];
    uint32_t len = na + nb, crc;
    h[0] = HIL_SYNC0;
    h[1] = HIL_SYNC1;
    h[2] = cmd;
    h[3] = seq;
    wr16(h + 4, len);
    crc = hil_crc32(0, h + 2, 4);
    if (na)
        crc = hil_crc32(crc, a, na);
    if (nb)
        crc = hil_crc32(crc, b, nb);
    wr32(c, crc);
    board_write(h, sizeof h);
    if (na)
        board_write(a, na);
    if (nb)
        board_write(b, nb);
    board_write(c, 4);
}

static void reply(uint8_t cmd, uint8_t seq, const uint8_t *p, uint32_t n)
{
    send_frame2((uint8_t)(cmd | HIL_REPLY), seq, p, n, NULL, 0);
}

static void send_error(uint8_t cmd, uint8_t seq, uint16_t code, int32_t detail, const char *msg)
{
    uint8_t e[96];
    uint8_t *p = wr16(e, code);
    *p++ = cmd;
    *p++ = 0;
    p = wr32(p, (uint32_t)detail);
    while (*msg && p < e + sizeof e)
        *p++ = (uint8_t)*msg++;
    send_frame2(HIL_ERROR, seq, e, (uint32_t)(p - e), NULL, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* runtime glue */

static uint32_t port_cycles(void *ctx)
{
    (void)ctx;
    return (uint32_t)board_counter();
}

static emc_port_t port = {.cycles = port_cycles};

static void layer_hook(void *user, uint32_t index, uint32_t type, const void *out, size_t out_size,
                       emc_dtype_t dtype, uint32_t cycles)
{
    uint64_t t = board_counter() - inv_t0;
    (void)user;
    if (index < HIL_TRACE_MAX) {
        trace_rec_t *r = &trace[index];
        r->type = type;
        r->size = (uint32_t)out_size;
        r->dtype = (uint32_t)dtype;
        r->crc = (inv_flags & HIL_INV_TRACE_CRC) && out ? hil_crc32(0, out, out_size) : 0;
        r->rt_cycles = cycles;
        r->t = t;
    }
    if (index + 1 > trace_layers)
        trace_layers = index + 1;
    if ((inv_flags & HIL_INV_CAPTURE) && (int32_t)index == cap_request) {
        uint32_t n = out_size < B.capture_max ? (uint32_t)out_size : B.capture_max;
        if (out && n)
            memcpy(B.capture_buf, out, n);
        cap_index = (int32_t)index;
        cap_type = type;
        cap_dtype = (uint32_t)dtype;
        cap_size = (uint32_t)out_size;
        cap_stored = out ? n : 0;
    }
}

/* Kept out of line so that the instruction-count plugin can find them (nm fw.elf). */
__attribute__((noinline, used)) void prof_begin(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline, used)) void prof_end(void)
{
    __asm__ volatile("" ::: "memory");
}

static void forget_model(void)
{
    model_loaded = 0;
    have_result = 0;
    model_size = model_crc = 0;
    cap_index = -1;
    trace_layers = 0;
    memset(&model, 0, sizeof model);
}

/* ------------------------------------------------------------------------------------------ */
/* commands */

static void cmd_hello(uint8_t seq)
{
    uint8_t *p = tx_hdr, *end = tx_hdr + sizeof tx_hdr;
    uint32_t flags = B.build_flags | HIL_EXTRA_BUILD_FLAGS;
#if defined(EMC_USE_DSP) || defined(EMC_DSP)
    flags |= HIL_BF_DSP;
#endif
#ifdef HIL_STUB_RUNTIME
    flags |= HIL_BF_STUB;
#endif
#ifndef __OPTIMIZE__
    flags |= HIL_BF_DEBUG;
#endif
    p = wr16(p, HIL_PROTO_MAJOR);
    p = wr16(p, HIL_PROTO_MINOR);
    p = wr32(p, HIL_FW_VERSION);
    p = wr32(p, EMC_RUNTIME_VERSION);
    p = wr32(p, B.core_clock_hz);
    p = wr32(p, B.counter_kind);
    p = wr32(p, flags);
    p = wr32(p, HIL_MAX_PAYLOAD);
    p = wr32(p, (uint32_t)(uintptr_t)B.model_buf);
    p = wr32(p, B.model_max);
    p = wr32(p, (uint32_t)(uintptr_t)B.input_buf);
    p = wr32(p, B.input_max);
    p = wr32(p, (uint32_t)(uintptr_t)B.arena);
    p = wr32(p, B.arena_size);
    p = wr32(p, B.capture_max);
    p = wr32(p, HIL_TRACE_MAX);
    p = wr32(p, model_loaded ? 1u : 0u);
    p = wr32(p, model_size);
    p = wr32(p, model_crc);
    /* key=value strings, each NUL-terminated */
    p = wrstr(p, end, "target=");
    p--;
    p = wrstr(p, end, B.target);
    p = wrstr(p, end, "fw=" HIL_FW_VERSION_STR);
#ifdef __VERSION__
    p = wrstr(p, end, "cc=gcc " __VERSION__);
#endif
#ifdef HIL_BUILD_ID
    p = wrstr(p, end, "build=" HIL_STR(HIL_BUILD_ID));
#endif
    reply(HIL_HELLO, seq, tx_hdr, (uint32_t)(p - tx_hdr));
}

static void cmd_load_begin(uint8_t seq, const uint8_t *pl, uint32_t len)
{
    uint32_t total;
    if (len != 4) {
        send_error(HIL_LOAD_BEGIN, seq, HIL_E_BAD_LENGTH, (int32_t)len, "LOAD_BEGIN wants u32 size");
        return;
    }
    total = rd32(pl);
    if (total > B.model_max) {
        send_error(HIL_LOAD_BEGIN, seq, HIL_E_TOO_LARGE, (int32_t)B.model_max, "model larger than model buffer");
        return;
    }
    forget_model();
    model_declared = total;
    reply(HIL_LOAD_BEGIN, seq, NULL, 0);
}

static void cmd_load_chunk(uint8_t seq, const uint8_t *pl, uint32_t len)
{
    uint32_t off, n;
    if (len < 4) {
        send_error(HIL_LOAD_CHUNK, seq, HIL_E_BAD_LENGTH, (int32_t)len, "LOAD_CHUNK wants u32 offset + data");
        return;
    }
    off = rd32(pl);
    n = len - 4;
    if (off > model_declared || n > model_declared - off) {
        send_error(HIL_LOAD_CHUNK, seq, HIL_E_RANGE, (int32_t)model_declared, "chunk outside LOAD_BEGIN size");
        return;
    }
    if (model_loaded)
        forget_model(); /* bytes under a loaded model change: it is no longer valid */
    memcpy(B.model_buf + off, pl + 4, n);
    reply(HIL_LOAD_CHUNK, seq, pl, 4);
}

/* A model with several inputs takes them one after the other in the staging buffer, in order. */
static size_t model_input_bytes(void)
{
    emc_tensor_t t;
    size_t total = 0;
    uint32_t i;
    for (i = 0; i < emc_model_input_count(&model); i++)
        if (emc_model_input_at(&model, i, &t) == EMC_OK)
            total += t.size;
    return total;
}

static void cmd_load_commit(uint8_t seq, const uint8_t *pl, uint32_t len)
{
    uint32_t size, crc, got, i, n;
    size_t need = 0;
    emc_status_t st;
    emc_tensor_t t;
    uint8_t *p;
    if (len != 8) {
        send_error(HIL_LOAD_COMMIT, seq, HIL_E_BAD_LENGTH, (int32_t)len, "LOAD_COMMIT wants u32 size, u32 crc");
        return;
    }
    size = rd32(pl);
    crc = rd32(pl + 4);
    if (size > B.model_max) {
        send_error(HIL_LOAD_COMMIT, seq, HIL_E_TOO_LARGE, (int32_t)B.model_max, "model larger than model buffer");
        return;
    }
    forget_model();
    got = hil_crc32(0, B.model_buf, size);
    if (got != crc) {
        send_error(HIL_LOAD_COMMIT, seq, HIL_E_CHECKSUM, (int32_t)got, "model CRC mismatch");
        return;
    }
    if (B.model_ready)
        B.model_ready(B.model_buf, size); /* K210 hardware KPU: make the bytes visible to the KPU */
    st = emc_arena_required(B.model_buf, size, &port, &need);
    if (st != EMC_OK) {
        send_error(HIL_LOAD_COMMIT, seq, HIL_E_RUNTIME, (int32_t)st, emc_status_str(st));
        return;
    }
    if (need > B.arena_size) {
        send_error(HIL_LOAD_COMMIT, seq, HIL_E_TOO_LARGE, (int32_t)need, "arena too small for this model");
        return;
    }
    st = emc_model_load(&model, B.model_buf, size, B.arena, B.arena_size, &port);
    if (st != EMC_OK) {
        send_error(HIL_LOAD_COMMIT, seq, HIL_E_RUNTIME, (int32_t)st, emc_status_str(st));
        forget_model();
        return;
    }
    emc_model_set_hook(&model, layer_hook, NULL);
    model_loaded = 1;
    model_size = size;
    model_crc = crc;
    p = tx_hdr;
    p = wr32(p, (uint32_t)need);
    p = wr32(p, emc_model_layer_count(&model));
    memset(&t, 0, sizeof t);
    emc_model_input(&model, &t);
    p = wr32(p, (uint32_t)model_input_bytes());
    p = wr32(p, (uint32_t)t.dtype);
    n = emc_model_output_count(&model);
    p = wr32(p, n);
    for (i = 0; i < n && p + 8 <= tx_hdr + sizeof tx_hdr; i++) {
        memset(&t, 0, sizeof t);
        emc_model_output(&model, i, &t);
        p = wr32(p, (uint32_t)t.size);
        p = wr32(p, (uint32_t)t.dtype);
    }
    reply(HIL_LOAD_COMMIT, seq, tx_hdr, (uint32_t)(p - tx_hdr));
}

static void cmd_set_input(uint8_t seq, const uint8_t *pl, uint32_t len)
{
    uint32_t off, n;
    if (len < 4) {
        send_error(HIL_SET_INPUT, seq, HIL_E_BAD_LENGTH, (int32_t)len, "SET_INPUT wants u32 offset + data");
        return;
    }
    off = rd32(pl);
    n = len - 4;
    if (off > B.input_max || n > B.input_max - off) {
        send_error(HIL_SET_INPUT, seq, HIL_E_TOO_LARGE, (int32_t)B.input_max, "input beyond staging buffer");
        return;
    }
    memcpy(B.input_buf + off, pl + 4, n);
    reply(HIL_SET_INPUT, seq, pl, 4);
}

static void cmd_invoke(uint8_t seq, const uint8_t *pl, uint32_t len)
{
    uint32_t in_size;
    uint64_t count;
    emc_status_t st;
    emc_error_t err;
    uint8_t *p;
    if (len != 12) {
        send_error(HIL_INVOKE, seq, HIL_E_BAD_LENGTH, (int32_t)len, "INVOKE wants u32 size, u32 flags, i32 layer");
        return;
    }
    if (!model_loaded) {
        send_error(HIL_INVOKE, seq, HIL_E_NO_MODEL, 0, "no model loaded");
        return;
    }
    in_size = rd32(pl);
    inv_flags = rd32(pl + 4);
    cap_request = (int32_t)rd32(pl + 8);
    if (in_size > B.input_max) {
        send_error(HIL_INVOKE, seq, HIL_E_TOO_LARGE, (int32_t)B.input_max, "input beyond staging buffer");
        return;
    }
    have_result = 0;
    cap_index = -1;
    cap_size = cap_stored = 0;
    trace_layers = 0;
    st = emc_model_set_inputs(&model, B.input_buf, in_size);
    if (st != EMC_OK) {
        send_error(HIL_INVOKE, seq, HIL_E_RUNTIME, (int32_t)st, emc_status_str(st));
        return;
    }
    board_counter_restart();
    inv_t0 = board_counter();
    prof_begin();
    st = emc_model_invoke(&model);
    prof_end();
    count = board_counter() - inv_t0;
    if (st != EMC_OK) {
        err = emc_model_last_error(&model);
        send_error(HIL_INVOKE, seq, HIL_E_RUNTIME, (int32_t)st, emc_status_str(st));
        (void)err;
        return;
    }
    have_result = 1;
    p = tx_hdr;
    p = wr32(p, (uint32_t)st);
    p = wr32(p, B.counter_kind);
    p = wr64(p, count);
    p = wr32(p, emc_model_output_count(&model));
    p = wr32(p, trace_layers);
    p = wr32(p, (uint32_t)cap_index);
    p = wr32(p, cap_type);
    p = wr32(p, cap_dtype);
    p = wr32(p, cap_size);
    p = wr32(p, cap_stored);
    reply(HIL_INVOKE, seq, tx_hdr, (uint32_t)(p - tx_hdr));
}

static int chunk_args(uint8_t cmd, uint8_t seq, const uint8_t *pl, uint32_t len, uint32_t want, uint32_t total,
                      uint32_t *off, uint32_t *n)
{
    uint32_t max;
    if (len != want) {
        send_error(cmd, seq, HIL_E_BAD_LENGTH, (int32_t)len, "bad request length");
        return 0;
    }
    *off = rd32(pl + want - 8);
    max = rd32(pl + want - 4);
    if (*off > total) {
        send_error(cmd, seq, HIL_E_RANGE, (int32_t)total, "offset beyond tensor");
        return 0;
    }
    if (max > HIL_MAX_PAYLOAD - 32)
        max = HIL_MAX_PAYLOAD - 32;
    *n = total - *off < max ? total - *off : max;
    return 1;
}

static void cmd_get_output(uint8_t seq, const uint8_t *pl, uint32_t len)
{
    emc_tensor_t t;
    emc_status_t st;
    uint32_t off, n;
    uint8_t *p;
    if (!have_result) {
        send_error(HIL_GET_OUTPUT, seq, HIL_E_NO_MODEL, 0, "no invoke result");
        return;
    }
    if (len != 12) {
        send_error(HIL_GET_OUTPUT, seq, HIL_E_BAD_LENGTH, (int32_t)len, "GET_OUTPUT wants index, offset, max");
        return;
    }
    memset(&t, 0, sizeof t);
    st = emc_model_output(&model, rd32(pl), &t);
    if (st != EMC_OK) {
        send_error(HIL_GET_OUTPUT, seq, HIL_E_RANGE, (int32_t)st, emc_status_str(st));
        return;
    }
    if (!chunk_args(HIL_GET_OUTPUT, seq, pl, len, 12, (uint32_t)t.size, &off, &n))
        return;
    p = tx_hdr;
    p = wr32(p, (uint32_t)t.size);
    p = wr32(p, (uint32_t)t.dtype);
    p = wr32(p, off);
    send_frame2(HIL_GET_OUTPUT | HIL_REPLY, seq, tx_hdr, (uint32_t)(p - tx_hdr), (const uint8_t *)t.data + off, n);
}

static void cmd_get_layer(uint8_t seq, const uint8_t *pl, uint32_t len)
{
    uint32_t off, n;
    uint8_t *p;
    if (cap_index < 0) {
        send_error(HIL_GET_LAYER, seq, HIL_E_STATE, cap_request, "no layer captured (INVOKE with CAPTURE flag)");
        return;
    }
    if (!chunk_args(HIL_GET_LAYER, seq, pl, len, 8, cap_stored, &off, &n))
        return;
    p = tx_hdr;
    p = wr32(p, (uint32_t)cap_index);
    p = wr32(p, cap_type);
    p = wr32(p, cap_dtype);
    p = wr32(p, cap_size);
    p = wr32(p, cap_stored);
    p = wr32(p, off);
    send_frame2(HIL_GET_LAYER | HIL_REPLY, seq, tx_hdr, (uint32_t)(p - tx_hdr), B.capture_buf + off, n);
}

#define TRACE_REC_SIZE 28u
static void cmd_get_trace(uint8_t seq, const uint8_t *pl, uint32_t len)
{
    uint32_t first, count, rec, i;
    uint8_t *p;
    if (len != 8) {
        send_error(HIL_GET_TRACE, seq, HIL_E_BAD_LENGTH, (int32_t)len, "GET_TRACE wants first, count");
        return;
    }
    first = rd32(pl);
    count = rd32(pl + 4);
    rec = trace_layers < HIL_TRACE_MAX ? trace_layers : HIL_TRACE_MAX;
    if (first > rec)
        first = rec;
    if (count > rec - first)
        count = rec - first;
    if (count > (sizeof tx_hdr - 12) / TRACE_REC_SIZE)
        count = (sizeof tx_hdr - 12) / TRACE_REC_SIZE;
    p = tx_hdr;
    p = wr32(p, trace_layers);
    p = wr32(p, first);
    p = wr32(p, count);
    for (i = first; i < first + count; i++) {
        p = wr32(p, trace[i].type);
        p = wr32(p, trace[i].size);
        p = wr32(p, trace[i].dtype);
        p = wr32(p, trace[i].crc);
        p = wr32(p, trace[i].rt_cycles);
        p = wr64(p, trace[i].t);
    }
    reply(HIL_GET_TRACE, seq, tx_hdr, (uint32_t)(p - tx_hdr));
}

static void dispatch(uint8_t cmd, uint8_t seq, const uint8_t *pl, uint32_t len)
{
    switch (cmd) {
    case HIL_PING:
        reply(HIL_PING, seq, pl, len);
        break;
    case HIL_HELLO:
        cmd_hello(seq);
        break;
    case HIL_RESET:
        if (len == 1 && pl[0] == 1) {
            reply(HIL_RESET, seq, pl, 1);
            board_reset();
        }
        forget_model();
        model_declared = B.model_max;
        reply(HIL_RESET, seq, pl, len > 1 ? 1 : len);
        break;
    case HIL_LOAD_BEGIN:
        cmd_load_begin(seq, pl, len);
        break;
    case HIL_LOAD_CHUNK:
        cmd_load_chunk(seq, pl, len);
        break;
    case HIL_LOAD_COMMIT:
        cmd_load_commit(seq, pl, len);
        break;
    case HIL_SET_INPUT:
        cmd_set_input(seq, pl, len);
        break;
    case HIL_INVOKE:
        cmd_invoke(seq, pl, len);
        break;
    case HIL_GET_OUTPUT:
        cmd_get_output(seq, pl, len);
        break;
    case HIL_GET_LAYER:
        cmd_get_layer(seq, pl, len);
        break;
    case HIL_GET_TRACE:
        cmd_get_trace(seq, pl, len);
        break;
    default:
        send_error(cmd, seq, HIL_E_UNKNOWN_CMD, cmd, "unknown command");
        break;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* receiver */

void hil_main(void)
{
    uint32_t have = 0, need = 0, last = 0, start = 0;
    memset(&B, 0, sizeof B);
    board_init(&B);
    board_write((const uint8_t *)HIL_BOOT_BANNER, sizeof HIL_BOOT_BANNER - 1);
    port.kpu_ram = B.kpu_ram;
    port.k210_conv = B.k210_conv; /* K210 hardware KPU (board_k210.c), else NULL: software KPU */
    port.ctx = B.k210_ctx;
    forget_model();
    model_declared = B.model_max; /* a preloaded model may be committed without LOAD_BEGIN */
    for (;;) {
        int c = board_getc();
        if (c < 0 || (have && (uint32_t)(board_millis() - start) > HIL_FRAME_TIMEOUT_MS)) {
            /* a partial frame is dropped after HIL_RX_TIMEOUT_MS of silence, or when it is not
             * complete HIL_FRAME_TIMEOUT_MS after its sync (a fake header with a long length
             * followed by a stream of the host's PINGs would otherwise keep it alive) */
            uint32_t now = board_millis();
            if (have && ((uint32_t)(now - last) > HIL_RX_TIMEOUT_MS || (uint32_t)(now - start) > HIL_FRAME_TIMEOUT_MS)) {
                send_error(have > 2 ? rx[2] : 0, have > 3 ? rx[3] : 0, HIL_E_TIMEOUT, (int32_t)have,
                           "partial frame timed out");
                have = 0;
            }
            if (c < 0) {
                board_idle(); /* woken by the next byte or the board's timer tick */
                continue;
            }
        }
        last = board_millis();
        if (have == 0) {
            if (c == HIL_SYNC0) {
                rx[have++] = (uint8_t)c;
                start = last;
            }
            continue;
        }
        if (have == 1) {
            if (c == HIL_SYNC1)
                rx[have++] = (uint8_t)c;
            else if (c != HIL_SYNC0)
                have = 0;
            continue;
        }
        rx[have++] = (uint8_t)c;
        if (have == HIL_HEADER_SIZE) {
            uint32_t len = (uint32_t)rx[4] | ((uint32_t)rx[5] << 8);
            if (len > HIL_MAX_PAYLOAD) {
                send_error(rx[2], rx[3], HIL_E_TOO_LARGE, (int32_t)HIL_MAX_PAYLOAD, "frame payload too large");
                have = 0;
                continue;
            }
            need = HIL_HEADER_SIZE + len + HIL_CRC_SIZE;
        }
        if (have >= HIL_HEADER_SIZE && have == need) {
            uint32_t len = need - HIL_OVERHEAD;
            uint32_t crc = rd32(rx + HIL_HEADER_SIZE + len);
            have = 0;
            if (hil_crc32(0, rx + 2, 4 + len) != crc) {
                send_error(rx[2], rx[3], HIL_E_BAD_CRC, 0, "bad frame CRC");
                continue;
            }
            dispatch(rx[2], rx[3], rx + HIL_HEADER_SIZE, len);
        }
    }
}
