/* fuzz_hostname.c — libFuzzer driver for the workspace host and HTTP-path
 * rules (src/hostname.c): strings users type into configs and environment
 * variables.
 *
 * Input: byte 0 picks the output capacity (so short buffers are exercised:
 * the output buffers are heap blocks of exactly that size), the rest is the
 * string (up to its first NUL).
 *
 * Checked:
 *  - dbx_normalize_host succeeds or fails with a config error; on success
 *    the result fits, starts with "https://" (or "http://" for loopback),
 *    has no user-info, path, query, fragment, white space or upper-case
 *    letter, and normalising it again succeeds and changes nothing
 *    (normalize(normalize(x)) == normalize(x));
 *  - dbx_warehouse_id_from_http_path / dbx_cluster_id_from_http_path return
 *    0 or the length of a terminated id of [A-Za-z0-9_-] that fits, and the
 *    canonical path built from that id gives the same id back.
 *
 * Run: fuzz/run.sh hostname. Replayed by spec/c/fuzz_hostname_corpus.c. */
#include "fuzz_common.h"

#include <ctype.h>

#include "hostname.h"

static void check_host(const char *in, size_t cap)
{
    char *out = malloc(cap), *again = malloc(cap);
    const char *rest;
    dbx_err err;
    CHECK(out && again);
    dbx_err_clear(&err);
    if (dbx_normalize_host(in, out, cap, &err) != 0) {
        CHECK(err.kind == DBX_ECONFIG && err.message[0]);
    } else {
        CHECK(memchr(out, '\0', cap) != NULL);
        if (strncmp(out, "https://", 8) == 0) {
            rest = out + 8;
        } else {
            CHECK(strncmp(out, "http://", 7) == 0);
            rest = out + 7;
        }
        CHECK(*rest != '\0');
        for (const char *p = rest; *p; p++)
            CHECK(!isupper((unsigned char)*p) && !isspace((unsigned char)*p) && *p != '/' && *p != '?' &&
                  *p != '#' && *p != '@');
        dbx_err_clear(&err);
        CHECK(dbx_normalize_host(out, again, cap, &err) == 0);
        CHECK(strcmp(out, again) == 0);
    }
    free(out);
    free(again);
}

typedef size_t (*id_fn)(const char *, char *, size_t);

static void check_id(id_fn fn, const char *prefix, const char *path, size_t cap)
{
    char *id = malloc(cap), *again = malloc(cap), *canon;
    size_t len = fn(path, id, cap), plen = strlen(prefix);
    CHECK(id && again);
    CHECK(len < cap || len == 0);
    if (len) {
        CHECK(strlen(id) == len);
        for (size_t i = 0; i < len; i++)
            CHECK(isalnum((unsigned char)id[i]) || id[i] == '-' || id[i] == '_');
        canon = malloc(plen + len + 1);
        CHECK(canon != NULL);
        memcpy(canon, prefix, plen);
        memcpy(canon + plen, id, len + 1);
        CHECK(fn(canon, again, cap) == len && strcmp(again, id) == 0);
        free(canon);
    }
    free(id);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest;
    size_t n, cap;
    char *s;
    if (size == 0)
        return 0;
    /* 1..64 or the usual 256/512: small ones test truncation. */
    cap = data[0] < 192 ? (size_t)(data[0] % 64) + 1 : (data[0] < 224 ? 256 : 512);
    fuzz_take(data, size, 1, &rest, &n);
    s = fuzz_cstr(rest, n);
    check_host(s, cap);
    check_id(dbx_warehouse_id_from_http_path, "/sql/1.0/warehouses/", s, cap);
    check_id(dbx_cluster_id_from_http_path, "/sql/protocolv1/o/1234/", s, cap);
    free(s);
    return 0;
}
