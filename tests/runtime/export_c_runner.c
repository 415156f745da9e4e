/* Host runner of an `emc export-c` model (tests/runtime/test_export_c.py): runs the compiled-in
 * const array in place and checks the generated header against what the runtime itself reports.
 *   export_c_runner input.bin out_prefix     -> out_prefix<i>.bin per output
 * Exit 0 ok, 3 header disagrees with the runtime, 4 runtime error, 1 I/O. The array is in .rodata,
 * which Linux maps read-only: a runtime write into the model would be a SIGSEGV. */
#include <stdio.h>
#include <string.h>

#include "emc_runtime.h"
#include "model_data.h"

static uint8_t arena[EMC_MODEL_ARENA_SIZE] __attribute__((aligned(EMC_ARENA_ALIGN)));
static uint8_t input[EMC_MODEL_INPUT_BYTES];

static int same_tensor(const emc_tensor_t *t, uint32_t dtype, uint32_t rank, const uint32_t *shape, size_t bytes,
                       float scale, int32_t zp)
{
    return t->dtype == (emc_dtype_t)dtype && t->rank == rank && memcmp(t->shape, shape, rank * sizeof *shape) == 0 &&
           t->size == bytes && t->scale == scale && t->zero_point == zp;
}

#define CHECK_OUTPUT(i)                                                                                        \
    do {                                                                                                       \
        static const uint32_t shape[] = EMC_MODEL_OUTPUT##i##_SHAPE;                                           \
        emc_tensor_t t;                                                                                        \
        if (emc_model_output(&m, i, &t) != EMC_OK ||                                                           \
            !same_tensor(&t, EMC_MODEL_OUTPUT##i##_DTYPE, EMC_MODEL_OUTPUT##i##_RANK, shape,                   \
                         EMC_MODEL_OUTPUT##i##_BYTES, EMC_MODEL_OUTPUT##i##_SCALE, EMC_MODEL_OUTPUT##i##_ZERO_POINT)) { \
            fprintf(stderr, "output %d: header disagrees with the runtime\n", i);                              \
            return 3;                                                                                          \
        }                                                                                                      \
    } while (0)

int main(int argc, char **argv)
{
    static const uint32_t in_shape[] = EMC_MODEL_INPUT_SHAPE;
    emc_model_t m;
    emc_tensor_t in;
    size_t need;
    uint32_t i;
    FILE *f;
    if (argc != 3)
        return 1;
    if (emc_arena_required(emc_model_data, EMC_MODEL_SIZE, NULL, &need) != EMC_OK || need != EMC_MODEL_ARENA_SIZE) {
        fprintf(stderr, "arena: header %u, runtime %zu\n", (unsigned)EMC_MODEL_ARENA_SIZE, need);
        return 3;
    }
    if (((uintptr_t)emc_model_data % EMC_MODEL_ALIGN) != 0)
        return 3;
    if (emc_model_load(&m, emc_model_data, EMC_MODEL_SIZE, arena, sizeof arena, NULL) != EMC_OK)
        return 4;
    if (emc_model_input(&m, &in) != EMC_OK ||
        !same_tensor(&in, EMC_MODEL_INPUT_DTYPE, EMC_MODEL_INPUT_RANK, in_shape, EMC_MODEL_INPUT_BYTES,
                     EMC_MODEL_INPUT_SCALE, EMC_MODEL_INPUT_ZERO_POINT)) {
        fprintf(stderr, "input: header disagrees with the runtime\n");
        return 3;
    }
    if (emc_model_output_count(&m) != EMC_MODEL_OUTPUT_COUNT)
        return 3;
    CHECK_OUTPUT(0);
    f = fopen(argv[1], "rb");
    if (!f || fread(input, 1, sizeof input, f) != sizeof input)
        return 1;
    fclose(f);
    if (emc_model_set_input(&m, input, sizeof input) != EMC_OK || emc_model_invoke(&m) != EMC_OK)
        return 4;
    for (i = 0; i < emc_model_output_count(&m); i++) {
        emc_tensor_t t;
        char path[4096];
        emc_model_output(&m, i, &t);
        snprintf(path, sizeof path, "%s%u.bin", argv[2], (unsigned)i);
        f = fopen(path, "wb");
        if (!f || fwrite(t.data, 1, t.size, f) != t.size)
            return 1;
        fclose(f);
    }
    return 0;
}
