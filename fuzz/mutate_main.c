/* Mutation driver: applies each mutation of a spec file to a copy of one model and runs the fuzz
 * target on it (ASan/UBSan build). Spec lines: "OFFSET VALUE" (write u32 VALUE little-endian at
 * OFFSET) or "T LENGTH" (truncate). Usage: mutate [--load-only] model.kmodel spec.txt
 * Prints "ok N" after N mutants without a sanitizer report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
extern int emc_fuzz_invoke;

int main(int argc, char **argv)
{
    FILE *f;
    unsigned char *base, *buf;
    long n;
    int a = 1, count = 0;
    char kind[8];
    unsigned long off, val;
    if (argc > 1 && strcmp(argv[1], "--load-only") == 0) {
        emc_fuzz_invoke = 0;
        a = 2;
    }
    if (argc != a + 2)
        return 1;
    f = fopen(argv[a], "rb");
    if (!f)
        return 1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    base = (unsigned char *)malloc((size_t)n);
    if (fread(base, 1, (size_t)n, f) != (size_t)n)
        return 1;
    fclose(f);
    f = fopen(argv[a + 1], "r");
    if (!f)
        return 1;
    while (fscanf(f, "%7s %lu %lu", kind, &off, &val) == 3) {
        size_t len = (size_t)n;
        if (kind[0] == 'T') {
            len = off < (unsigned long)n ? (size_t)off : (size_t)n;
            buf = (unsigned char *)malloc(len ? len : 1);
            memcpy(buf, base, len);
        } else {
            buf = (unsigned char *)malloc(len);
            memcpy(buf, base, len);
            if (off + 4 <= len) {
                buf[off] = (unsigned char)val;
                buf[off + 1] = (unsigned char)(val >> 8);
                buf[off + 2] = (unsigned char)(val >> 16);
                buf[off + 3] = (unsigned char)(val >> 24);
            }
        }
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        count++;
    }
    fclose(f);
    free(base);
    printf("ok %d\n", count);
    return 0;
}
