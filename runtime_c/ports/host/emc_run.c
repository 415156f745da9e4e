/* emc_run: run a kmodel on the host from the command line.
 *   emc_run model.kmodel input.bin output_prefix   -> writes output_prefix<i>.bin per output
 *   emc_run model.kmodel                           -> prints arena size and layer list
 * Exit code 0 on success, 2 + emc_status_t on a runtime error. */
#include <stdio.h>
#include <stdlib.h>

#include "emc_port_host.h"

static void *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    void *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1u);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

int main(int argc, char **argv)
{
    size_t msize, isize, need;
    void *model, *input, *raw;
    uint8_t *arena;
    emc_model_t m;
    emc_status_t s;
    uint32_t i;
    if (argc < 2) {
        fprintf(stderr, "usage: %s model.kmodel [input.bin output_prefix]\n", argv[0]);
        return 1;
    }
    model = slurp(argv[1], &msize);
    if (!model) {
        perror(argv[1]);
        return 1;
    }
    s = emc_arena_required(model, msize, NULL, &need);
    if (s != EMC_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], emc_status_str(s));
        return 2 + (int)s;
    }
    raw = malloc(need + EMC_ARENA_ALIGN);
    if (!raw)
        return 1;
    arena = (uint8_t *)raw + (EMC_ARENA_ALIGN - (uintptr_t)raw % EMC_ARENA_ALIGN) % EMC_ARENA_ALIGN;
    s = emc_model_load(&m, model, msize, arena, need, emc_port_host());
    if (s != EMC_OK) {
        emc_error_t e = emc_model_last_error(&m);
        fprintf(stderr, "%s: %s (layer %d, offset %d)\n", argv[1], emc_status_str(s), (int)e.layer, (int)e.offset);
        return 2 + (int)s;
    }
    if (argc < 4) {
        printf("arena %zu bytes, %u layers\n", need, (unsigned)emc_model_layer_count(&m));
        for (i = 0; i < emc_model_layer_count(&m); i++) {
            uint32_t t, bs;
            emc_model_layer_info(&m, i, &t, &bs);
            printf("  %3u type %5u body %u\n", (unsigned)i, (unsigned)t, (unsigned)bs);
        }
        return 0;
    }
    input = slurp(argv[2], &isize);
    if (!input || (s = emc_model_set_input(&m, input, isize)) != EMC_OK || (s = emc_model_invoke(&m)) != EMC_OK) {
        fprintf(stderr, "run failed: %s\n", input ? emc_status_str(s) : "cannot read input");
        return input ? 2 + (int)s : 1;
    }
    for (i = 0; i < emc_model_output_count(&m); i++) {
        emc_tensor_t t;
        char path[4096];
        FILE *f;
        emc_model_output(&m, i, &t);
        snprintf(path, sizeof path, "%s%u.bin", argv[3], (unsigned)i);
        f = fopen(path, "wb");
        if (!f || fwrite(t.data, 1, t.size, f) != t.size) {
            perror(path);
            return 1;
        }
        fclose(f);
    }
    free(raw);
    free(input);
    free(model);
    return 0;
}
