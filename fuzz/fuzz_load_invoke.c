/* libFuzzer target: any byte string -> emc_arena_required / emc_model_load / invoke. Must never
 * crash, leak out of bounds or hit undefined behaviour (build with -fsanitize=fuzzer,address,undefined).
 * Also checks the arena contract: exactly emc_arena_required() bytes work, one byte less is
 * refused with EMC_E_ARENA. */
#include <stdlib.h>
#include <string.h>

#include "emc_runtime.h"

#define MAX_ARENA (48u * 1024u * 1024u)

/* 0: validate and load only (the mutation driver uses it for big models). */
int emc_fuzz_invoke = 1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t need = 0;
    emc_model_t m;
    emc_tensor_t in;
    size_t total;
    uint32_t i;
    uint8_t *model, *arena, *input;
    model = (uint8_t *)malloc(size ? size : 1);   /* exact size: ASan sees any overread */
    memcpy(model, data, size);
    (void)emc_kmodel_fix_byte_order(model, size); /* a byte-swapped v3 is swapped back, as emc_run does */
    if (emc_arena_required(model, size, NULL, &need) != EMC_OK || need > MAX_ARENA) {
        free(model);
        return 0;
    }
    arena = (uint8_t *)malloc(need);             /* glibc malloc is 16-aligned */
    if (need > 0 && emc_model_load(&m, model, size, arena, need - 1, NULL) != EMC_E_ARENA)
        abort();
    if (emc_model_load(&m, model, size, arena, need, NULL) != EMC_OK)
        abort();                                 /* arena_required accepted it: load must too */
    for (i = 0, total = 0; i < emc_model_input_count(&m); i++)  /* every input, one after the other */
        if (emc_model_input_at(&m, i, &in) == EMC_OK)
            total += in.size;
    input = (uint8_t *)calloc(total ? total : 1, 1);
    if (emc_fuzz_invoke && total <= 16u * 1024u * 1024u) {
        memset(input, 0x5A, total);
        if (emc_model_set_inputs(&m, input, total) == EMC_OK)
            (void)emc_model_invoke(&m);
    }
    free(input);
    free(arena);
    free(model);
    return 0;
}
