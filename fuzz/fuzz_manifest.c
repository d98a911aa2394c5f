/* fuzz_manifest.c — libFuzzer driver for the statement answers the core
 * reads (src/statement.c): the manifest (schema columns, chunk and row
 * counts), the description of a result chunk (inline rows, or an external
 * link with its expiration and http_headers) and the trust #3 bounds on it.
 * All of it comes from the workspace.
 *
 * The input is JSON text (exact-size copy), read both as a statement answer
 * ("manifest", "result") and as a chunk answer (""). Checked:
 *  - the manifest: on success every column has a name and a type_name and a
 *    type from rows.h; counts are -1 or non-negative; on failure a
 *    terminated protocol or io error;
 *  - a chunk description: on success an external link is an https URL with
 *    no control byte, and every header is "Name: value" with a token name
 *    and no CR, LF or other control byte in its value (no header injection);
 *    indexes are -1 or non-negative; an expiry is finite;
 *  - the bounds: when dbx_chunk_desc_check accepts chunk `want` of `total`,
 *    the answer names that chunk (or none, for an inline chunk 0), its next
 *    chunk comes after it and within total, and the chain does not end early;
 *  - nothing leaks; the Lua stack of the JSON environment is balanced.
 *
 * Run: fuzz/run.sh manifest. Replayed by spec/c/fuzz_manifest_corpus.c. */
#define DBX_FUZZ_WANT_JSON 1
#include "fuzz_common.h"

#include <math.h>
#include <strings.h>

#include "statement.h"

static void check_error(const dbx_err *err)
{
    CHECK(memchr(err->message, '\0', sizeof err->message) != NULL && err->message[0]);
    CHECK(err->kind == DBX_EPROTOCOL || err->kind == DBX_EIO);
}

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void check_desc(const dbx_chunk_desc *d, long long total)
{
    CHECK(d->index >= -1 && d->row_offset >= -1 && d->row_count >= -1 && d->byte_count >= -1 &&
          d->next_index >= -1);
    if (d->url) {
        CHECK(strncasecmp(d->url, "https://", 8) == 0);
        for (const char *p = d->url; *p; p++)
            CHECK((unsigned char)*p > 0x20 && *p != 0x7f);
        CHECK(isfinite(d->expires));
    }
    for (char **h = d->headers; h && *h; h++) {
        const char *colon = strstr(*h, ": ");
        CHECK(colon != NULL && colon > *h);
        for (const char *p = *h; p < colon; p++)
            CHECK(is_tchar((unsigned char)*p));
        for (const char *p = colon + 2; *p; p++)
            CHECK((unsigned char)*p >= 0x20 || *p == '\t');
    }
    for (long long want = 0; want < 3; want++) {
        dbx_err err;
        dbx_err_clear(&err);
        if (dbx_chunk_desc_check(d, want, total, d->row_offset >= 0 ? d->row_offset : -1, &err) == 0) {
            CHECK(d->index == want || (d->index == -1 && !d->url && want == 0));
            CHECK(d->next_index == -1 || d->next_index > want);
            if (total >= 0) {
                CHECK(want < total);
                CHECK(d->next_index < total);
                CHECK(d->next_index != -1 || want == total - 1);
            }
        } else {
            check_error(&err);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbx_jsonenv *env = fuzz_jsonenv();
    char *body = fuzz_exact(data, size);
    dbx_json *j = dbx_json_decode(env, body, size);
    if (j) {
        dbx_manifest m;
        dbx_chunk_desc d;
        dbx_err err;
        long long total = -1;
        dbx_err_clear(&err);
        if (dbx_manifest_read(j, "manifest", &m, &err) == 0) {
            CHECK(m.total_chunks >= -1 && m.total_rows >= -1);
            for (size_t i = 0; i < m.ncols; i++) {
                CHECK(m.cols[i].name && m.cols[i].type_name);
                CHECK(m.cols[i].type >= DBX_COL_STRING && m.cols[i].type <= DBX_COL_DECIMAL);
            }
            total = m.total_chunks;
            dbx_manifest_free(&m);
        } else {
            check_error(&err);
            CHECK(m.cols == NULL && m.ncols == 0);
        }
        for (int k = 0; k < 2; k++) {
            dbx_err_clear(&err);
            if (dbx_chunk_desc_read(j, k ? "" : "result", 1795255200.0, 100.0, &d, &err) == 0) {
                check_desc(&d, total);
                dbx_chunk_desc_free(&d);
            } else {
                check_error(&err);
                CHECK(d.url == NULL && d.headers == NULL);
            }
        }
        dbx_json_free(j);
    }
    fuzz_free_exact(body, size);
    fuzz_json_done();
    return 0;
}
