/* Runs the fuzz target on files named on the command line (no libFuzzer needed): used by the
 * ASan+UBSan mutation tests with gcc. Prints "ok N" at the end. */
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        unsigned char *buf;
        long n;
        if (!f)
            return 1;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = (unsigned char *)malloc(n > 0 ? (size_t)n : 1u);
        if (fread(buf, 1, (size_t)n, f) != (size_t)n)
            return 1;
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)n);
        free(buf);
    }
    printf("ok %d\n", argc - 1);
    return 0;
}
