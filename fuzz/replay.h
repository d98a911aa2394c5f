/* replay.h — replays fuzz inputs through a driver's LLVMFuzzerTestOneInput
 * without libFuzzer, so the normal build (gcc, no sanitizer runtime needed)
 * and `make test` run every driver's checks over the committed corpus. Each
 * spec/c/fuzz_<name>_corpus.c is the driver plus this file:
 *
 *   #include "../../fuzz/fuzz_<name>.c"
 *   #include "../../fuzz/replay.h"
 *
 *   build/tests/fuzz_<name>_corpus FILE_OR_DIR...   -> "N inputs ok", exit 0
 *
 * Each input sits in a block of exactly its size; without AddressSanitizer
 * that block ends at a guard page, so a read past the input crashes the
 * replay even in the normal build. A failed check aborts (naming the check
 * and the input); an unreadable
 * argument exits 2. Folders are read one level deep, dot files skipped, in
 * name order so a failure is reproducible. */
#ifndef DBX_FUZZ_REPLAY_H
#define DBX_FUZZ_REPLAY_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data;
    char *exact;
    long n;
    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    data = malloc(n ? (size_t)n : 1);
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    /* Handed over as libFuzzer does, in a block of exactly n bytes (before
     * a guard page when there is no AddressSanitizer, see fuzz_common.h). */
    exact = fuzz_exact(data, (size_t)n);
    free(data);
    fuzz_input_name = path;
    LLVMFuzzerTestOneInput((const uint8_t *)exact, (size_t)n);
    fuzz_input_name = NULL;
    fuzz_free_exact(exact, (size_t)n);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_main(int argc, char **argv)
{
    unsigned count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        struct dirent **names;
        int n;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "cannot read %s\n", argv[i]);
            return 2;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]) != 0) {
                fprintf(stderr, "cannot read %s\n", argv[i]);
                return 2;
            }
            count++;
            continue;
        }
        if ((n = scandir(argv[i], &names, NULL, by_name)) < 0) {
            fprintf(stderr, "cannot list %s\n", argv[i]);
            return 2;
        }
        for (int k = 0; k < n; k++) {
            char path[4096];
            int rc = 0;
            if (names[k]->d_name[0] != '.') {
                snprintf(path, sizeof path, "%s/%s", argv[i], names[k]->d_name);
                if ((rc = replay_file(path)) != 0)
                    fprintf(stderr, "cannot read %s\n", path);
                else
                    count++;
            }
            free(names[k]);
            if (rc != 0) {
                while (++k < n)
                    free(names[k]);
                free(names);
                return 2;
            }
        }
        free(names);
    }
    printf("%u inputs ok\n", count);
    return 0;
}

int main(int argc, char **argv)
{
    return replay_main(argc, argv);
}

#endif
