/*
 * EMC runtime: a portable C99 interpreter for kmodel v3 files (Kendryte K210 KPU layers run by a
 * software KPU model or by a hardware port; CPU layers as in the SDK kpu.c) and for the EMC
 * generic int8 profile (TFLite-semantics layers stored in the same container, see
 * docs/generic_profile.md).
 *
 * No malloc anywhere: the caller owns the model bytes, the emc_model_t and one arena. The loader
 * validates every header and body field once, so that invoke can never read or write outside the
 * model buffer or the arena whatever the file contains.
 *
 * Typical use:
 *     size_t need;
 *     emc_arena_required(kmodel, kmodel_size, NULL, &need);
 *     emc_model_load(&m, kmodel, kmodel_size, arena, need, NULL);
 *     emc_model_set_input(&m, image, image_bytes);
 *     emc_model_invoke(&m);
 *     emc_model_output(&m, 0, &out);
 */
#ifndef EMC_RUNTIME_H
#define EMC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EMC_RUNTIME_VERSION 0x000100 /* 0.1.0 */

typedef enum emc_status {
    EMC_OK = 0,
    EMC_E_ARG,           /* NULL pointer or otherwise unusable argument */
    EMC_E_TRUNCATED,     /* file shorter than its header/tables/bodies say */
    EMC_E_VERSION_V4,    /* a kmodel v4 ('KMDL', nncase v0.2): not supported by this runtime */
    EMC_E_VERSION_V5,    /* a kmodel v5+ ('KMDL', nncase v1): not supported */
    EMC_E_VERSION,       /* neither v3 nor a recognisable v4/v5 */
    EMC_E_ARCH,          /* v3 header arch != 0 */
    EMC_E_HEADER,        /* header counts impossible (overflow, absurd main_mem_usage, no layers) */
    EMC_E_LAYER_TYPE,    /* layer type this runtime does not know */
    EMC_E_BODY,          /* a body field is inconsistent (bad enum, shape mismatch, sub-block outside the body) */
    EMC_E_RANGE,         /* a tensor range lies outside main_mem_usage or KPU RAM */
    EMC_E_ARENA,         /* arena smaller than emc_arena_required() */
    EMC_E_NO_INPUT,      /* the model's input cannot be determined from its first layer */
    EMC_E_INDEX,         /* input/output index out of range */
    EMC_E_SIZE,          /* input byte count differs from the model's input size */
    EMC_E_STATE,         /* model not loaded */
    EMC_E_PORT,          /* a port hook reported a failure */
    EMC_E_UNSUPPORTED,   /* feature not available on this build/host (e.g. big-endian CPU) */
    EMC_E_BYTE_SWAPPED,  /* a kmodel v3 with byte-reversed 32-bit words (K210 flash image): emc_kmodel_fix_byte_order */
    EMC_STATUS_COUNT
} emc_status_t;

/* Element type of a tensor handed to or from the caller. */
typedef enum emc_dtype {
    EMC_DT_U8 = 0,
    EMC_DT_F32 = 1,
    EMC_DT_I8 = 2,
    EMC_DT_I32 = 3
} emc_dtype_t;

/* Where the last error was found: layer index (-1 = header/tables) and absolute file byte
 * offset of the offending field (-1 if not tied to a byte). */
typedef struct emc_error {
    emc_status_t status;
    int32_t layer;
    int32_t offset;
} emc_error_t;

/* Description of one K210_CONV layer, as a hardware port sees it. `regs` are the 12 register
 * words with the three address fields still as in the file; the port patches its own copy. */
typedef struct emc_k210_conv {
    const uint8_t *regs;       /* 96 bytes, little-endian 64-bit words */
    const uint8_t *weights;    /* inside the model buffer */
    const uint8_t *bn;         /* OC x 8 bytes */
    const uint8_t *act;        /* 144 bytes */
    uint8_t *main_out;         /* NULL when the layer has no main-memory output */
    uint32_t main_out_size;    /* W_out * H_out * OC */
    int eight_bit;             /* header flags bit 0 */
} emc_k210_conv_t;

/* Platform services. Every member is optional; pass NULL for a plain software run. */
typedef struct emc_port {
    void *ctx;
    /* Base of the real 2 MiB KPU RAM (K210: AI RAM). When set, KPU rows are addressed there and
     * the arena holds no KPU-RAM window. Leave NULL to emulate KPU RAM inside the arena. */
    uint8_t *kpu_ram;
    /* Runs one K210_CONV on hardware. Return EMC_OK when done, EMC_E_UNSUPPORTED to fall back
     * to the software KPU model, anything else to abort the invoke. With kpu_ram also set the
     * arena has no software-KPU scratch, and EMC_E_UNSUPPORTED aborts the invoke too. */
    emc_status_t (*k210_conv)(void *ctx, const emc_k210_conv_t *layer);
    /* Free-running cycle counter, used only to time layers for the per-layer hook. */
    uint32_t (*cycles)(void *ctx);
} emc_port_t;

/* Called after every layer: index, layer type, its (last) output bytes and the cycles spent
 * (0 if the port has no counter). The output pointer is valid until the next layer runs. */
typedef void (*emc_layer_hook_t)(void *user, uint32_t index, uint32_t type, const void *out,
                                 size_t out_size, emc_dtype_t dtype, uint32_t cycles);

/* Tensor as seen by the caller. `shape` is meaningful up to `rank` (<= 4), outermost first:
 * v3 tensors are CHW (rank 3) or flat (rank 1); generic tensors NHWC as in the TFLite model. */
typedef struct emc_tensor {
    void *data;
    size_t size;               /* bytes */
    emc_dtype_t dtype;
    uint32_t rank;
    uint32_t shape[4];
    float scale;               /* generic int8 tensors: real = scale * (q - zero_point); else 0 */
    int32_t zero_point;
} emc_tensor_t;

/* Model inputs a generic model may declare (GENERIC_INPUT layers 0..n-1); v3 / K210 models have one. */
#define EMC_MAX_INPUTS 4

/* Caller-allocated model state. The fields are private by convention: use the functions below. */
typedef struct emc_model {
    const uint8_t *kmodel;
    size_t kmodel_size;
    uint32_t flags, layers, outputs, main_mem_usage, body_start;
    uint8_t *main;             /* main buffer (main_mem_usage + EMC_MAIN_SLACK bytes) */
    uint8_t *kpu;              /* byte address of KPU row 0 (may point before the arena) */
    uint8_t *scratch;
    size_t scratch_size;
    uint32_t kpu_lo, kpu_hi;   /* KPU rows in use: [kpu_lo, kpu_hi) */
    emc_tensor_t input[EMC_MAX_INPUTS];
    uint32_t inputs;           /* how many of input[] the model has (>= 1 once loaded) */
    uint32_t inputs_set;       /* internal: bit i = input i set since the last invoke */
    uint32_t input_kind;       /* internal: how set_input stores input 0 (others: main buffer) */
    uint32_t input_kpu_row;
    uint32_t input_kpu_layout[4]; /* internal: groups, row_len, row_pitch, chan_rows */
    const emc_port_t *port;
    emc_layer_hook_t hook;
    void *hook_user;
    emc_error_t error;
    uint32_t loaded;
} emc_model_t;

/* Slack bytes after the main buffer: QUANTIZED_ADD processes ceil(count/8)*8 elements and the KPU
 * main-memory DMA writes a map rounded up to 8 bytes (SDK kpu.c behaviour). */
#define EMC_MAIN_SLACK 8u
/* Arena and model buffer alignment the runtime asks for (16 keeps float/int32 views aligned;
 * a hardware K210 port needs the model buffer 128-byte aligned itself). */
#define EMC_ARENA_ALIGN 16u

const char *emc_status_str(emc_status_t status);

/* A kmodel v3 whose 32-bit words are byte-reversed (version word 00 00 00 03: read back from a K210
 * flash image, or written big-endian) is refused by the loader with EMC_E_BYTE_SWAPPED, since the
 * runtime reads the model in place. For a model in writable memory this swaps every word back in
 * place: EMC_OK when the buffer now holds a little-endian file (also when it already did, unchanged),
 * EMC_E_SIZE when `size` is not a whole number of words, EMC_E_ARG for NULL. */
emc_status_t emc_kmodel_fix_byte_order(void *kmodel, size_t size);

/* 1 when this build has a kernel for the layer type (the loader refuses other types with
 * EMC_E_LAYER_TYPE); lets a host say which layer a device cannot run before sending the model. */
int emc_layer_type_supported(uint32_t type);

/* Bytes of arena emc_model_load needs for this model (validates the whole file on the way).
 * `port` matters only through port->kpu_ram (no KPU window when the hardware RAM is used). */
emc_status_t emc_arena_required(const void *kmodel, size_t size, const emc_port_t *port,
                                size_t *bytes);

/* Validates the model and lays out the arena. `kmodel` must stay valid and unchanged while the
 * model is used; `arena` must be EMC_ARENA_ALIGN-aligned. On failure emc_model_last_error()
 * tells which layer and byte offset. */
emc_status_t emc_model_load(emc_model_t *m, const void *kmodel, size_t size, void *arena,
                            size_t arena_size, const emc_port_t *port);

emc_error_t emc_model_last_error(const emc_model_t *m);

uint32_t emc_model_layer_count(const emc_model_t *m);
/* Type and body size (bytes present in the file) of one layer. */
emc_status_t emc_model_layer_info(const emc_model_t *m, uint32_t index, uint32_t *type,
                                  uint32_t *body_size);

/* Input 0 (the only one of v3 / K210 models). info->data points at where it will be stored (NULL
 * when it lives in KPU RAM layout: always go through emc_model_set_input). */
emc_status_t emc_model_input(const emc_model_t *m, emc_tensor_t *info);
/* Copies `size` bytes (must equal the input size) into input 0: u8 CHW for K210 models, f32 for
 * models starting with FULLY_CONNECTED, the model's dtype (int8 NHWC) for generic models. */
emc_status_t emc_model_set_input(emc_model_t *m, const void *data, size_t size);

/* Number of model inputs (1..EMC_MAX_INPUTS; 0 before a load), in the .tflite's input order. */
uint32_t emc_model_input_count(const emc_model_t *m);
/* The same for input `index` (EMC_E_INDEX past the last). */
emc_status_t emc_model_input_at(const emc_model_t *m, uint32_t index, emc_tensor_t *info);
/* The first input set after a load or an invoke zeroes the main buffer and KPU window (so bytes
 * no layer writes are the same on every run); set every input, in any order, then invoke. */
emc_status_t emc_model_set_input_at(emc_model_t *m, uint32_t index, const void *data, size_t size);
/* Every input from one buffer holding them one after the other in input order (`size` must be
 * their sum; EMC_E_SIZE otherwise): what emc_run's input file and the HIL staging buffer hold. */
emc_status_t emc_model_set_inputs(emc_model_t *m, const void *data, size_t size);

void emc_model_set_hook(emc_model_t *m, emc_layer_hook_t hook, void *user);

/* Runs every layer in file order. */
emc_status_t emc_model_invoke(emc_model_t *m);

uint32_t emc_model_output_count(const emc_model_t *m);
/* Output tensors live in the main buffer; valid until the next invoke. */
emc_status_t emc_model_output(const emc_model_t *m, uint32_t index, emc_tensor_t *out);

#ifdef __cplusplus
}
#endif

#endif /* EMC_RUNTIME_H */
