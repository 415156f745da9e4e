/* emc_run: run a kmodel on the host from the command line.
 *   emc_run model.kmodel input.bin output_prefix   -> writes output_prefix<i>.bin per output
 *     (input.bin: a model with several inputs takes them one after the other, in input order)
 *   emc_run model.kmodel                           -> prints arena size and layer list
 * Exit codes (docs/errors.md): 0 success; 1 usage; 2 a file that cannot be read (missing, not a
 * regular file, larger than EMC_RUN_MAX_FILE, short read); 2 + emc_status_t when the runtime
 * refuses the model or the input. Every failure is one line on stderr naming the file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emc_port_host.h"

/* Largest model or input file read (a kmodel's main memory is bounded far below this). */
#define EMC_RUN_MAX_FILE ((size_t)256u << 20)

/* Reads a whole regular file. The size comes from fstat on the open descriptor, not from ftell:
 * a directory, a pipe or a device has no meaningful size (ftell gives -1 or garbage), so only
 * regular files are accepted, their size is bounded, and a file that changes size while being
 * read is refused. Returns NULL after printing one line naming the file. */
static uint32_t emc_rd32_le(const void *p)
{
    const unsigned char *b = (const unsigned char *)p;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static void *slurp(const char *path, size_t *size)
{
    struct stat st;
    unsigned char *buf;
    size_t n, got = 0;
    FILE *f;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer before the type check refuses it */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        fprintf(stderr, "emc_run: error: %s: cannot open: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "emc_run: error: %s: not a regular file (%s)\n", path,
                S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a pipe" : "a device or socket");
        close(fd);
        return NULL;
    }
    f = fdopen(fd, "rb");
    if (!f) {
        fprintf(stderr, "emc_run: error: %s: cannot open: %s\n", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > EMC_RUN_MAX_FILE) {
        fprintf(stderr, "emc_run: error: %s: %lld bytes, larger than the %zu-byte limit\n", path,
                (long long)st.st_size, EMC_RUN_MAX_FILE);
        fclose(f);
        return NULL;
    }
    n = (size_t)st.st_size;
    buf = (unsigned char *)malloc(n ? n : 1u);
    if (!buf) {
        fprintf(stderr, "emc_run: error: %s: cannot allocate %zu bytes\n", path, n);
        fclose(f);
        return NULL;
    }
    while (got < n) {
        size_t k = fread(buf + got, 1, n - got, f);
        if (k == 0)
            break;
        got += k;
    }
    if (got != n || fgetc(f) != EOF) {
        fprintf(stderr, "emc_run: error: %s: size changed while reading (%zu of %zu bytes)\n", path, got, n);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *size = n;
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
    if (!model)
        return 2;
    if (msize >= 4 && emc_rd32_le(model) == 0x03000000u) {
        if (emc_kmodel_fix_byte_order(model, msize) != EMC_OK) {
            fprintf(stderr, "emc_run: error: %s: %s, %zu bytes: not a whole number of 32-bit words\n", argv[1],
                    emc_status_str(EMC_E_BYTE_SWAPPED), msize);
            return 2 + (int)EMC_E_BYTE_SWAPPED;
        }
        fprintf(stderr, "emc_run: note: %s: %s: swapped every word back\n", argv[1], emc_status_str(EMC_E_BYTE_SWAPPED));
    }
    s = emc_arena_required(model, msize, NULL, &need);
    if (s != EMC_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], emc_status_str(s));
        return 2 + (int)s;
    }
    raw = malloc(need + EMC_ARENA_ALIGN);
    if (!raw) {
        fprintf(stderr, "emc_run: error: %s: cannot allocate the %zu-byte arena\n", argv[1], need);
        return 2;
    }
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
    if (!input)
        return 2;
    if ((s = emc_model_set_inputs(&m, input, isize)) != EMC_OK || (s = emc_model_invoke(&m)) != EMC_OK) {
        fprintf(stderr, "emc_run: error: %s: %s (input %zu bytes)\n", argv[2], emc_status_str(s), isize);
        return 2 + (int)s;
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
