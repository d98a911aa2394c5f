/* fuzz_pgpass_corpus.c — replays .pgpass fuzz inputs through the fuzz
 * driver's checks without libFuzzer, so the normal build and `make test` run
 * them (spec/pgpass_spec.lua calls it with fuzz/corpus/pgpass).
 *   build/tests/fuzz_pgpass_corpus FILE_OR_DIR...   -> "N inputs ok", exit 0 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../../fuzz/fuzz_pgpass.c"

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data;
    long n;
    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    data = malloc((size_t)n + 1);
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, (size_t)n);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        DIR *d;
        struct dirent *de;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "cannot read %s\n", argv[i]);
            return 2;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]) != 0)
                return 2;
            count++;
            continue;
        }
        if (!(d = opendir(argv[i])))
            return 2;
        while ((de = readdir(d)) != NULL) {
            char path[4096];
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
            if (replay_file(path) != 0) {
                closedir(d);
                fprintf(stderr, "cannot read %s\n", path);
                return 2;
            }
            count++;
        }
        closedir(d);
    }
    printf("%u inputs ok\n", count);
    return 0;
}
