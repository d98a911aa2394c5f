/* fuzz_httperr.c — libFuzzer driver for error responses turned into errors
 * (src/httperr.c dbx_http_error): whatever a workspace, an OAuth server or a
 * proxy in between sends back with an error status.
 *
 * Input layout: bytes 0-1 the status (mod 600), byte 2 Retry-After (none
 * below 128, else that many seconds), byte 3 the Content-Type length (mod
 * 128), byte 4 the x-request-id length (mod 96), then those two strings, then
 * the body (exact-size heap copy).
 *
 * Checked: always -1; kind auth for 401/403, else auth or http; status and
 * retry_after copied; message, error_code and request_id terminated inside
 * their arrays; the message starts with the operation name; it is already
 * redacted (redacting it again changes nothing); dbx_err_format fits any
 * buffer it is given; the JSON environment's stack is balanced.
 *
 * Run: fuzz/run.sh httperr. Replayed by spec/c/fuzz_httperr_corpus.c. */
#define DBX_FUZZ_WANT_JSON 1
#include "fuzz_common.h"

#include "http.h"
#include "httperr.h"
#include "redact.h"

#define WHAT "GET /api/2.0/preview/scim/v2/Me"

static void copy_str(char *dst, size_t cap, const uint8_t *p, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, p, n);
    dst[n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbx_jsonenv *env = fuzz_jsonenv();
    dbx_http_response resp;
    dbx_err err;
    const uint8_t *rest;
    size_t n, ct, rid;
    char again[sizeof err.message], line[16], *big;
    if (size < 5)
        return 0;
    dbx_http_response_init(&resp);
    resp.status = (long)(((unsigned)data[0] << 8 | data[1]) % 600);
    resp.retry_after = data[2] < 128 ? -1 : (double)data[2];
    ct = data[3] % 128;
    rid = data[4] % 96;
    fuzz_take(data, size, 5, &rest, &n);
    ct = fuzz_take(rest, n, ct, &rest, &n);
    copy_str(resp.content_type, sizeof resp.content_type, rest - ct, ct);
    rid = fuzz_take(rest, n, rid, &rest, &n);
    copy_str(resp.request_id, sizeof resp.request_id, rest - rid, rid);
    if (n) {
        /* The transport's body buffer: exactly the bytes received, plus
         * the terminator dbx_buf keeps. */
        CHECK(dbx_buf_append(&resp.body, rest, n) == 0);
    }

    dbx_err_clear(&err);
    CHECK(dbx_http_error(env, &resp, WHAT, &err) == -1);
    fuzz_json_done();
    CHECK(err.status == resp.status);
    CHECK(err.retry_after == resp.retry_after);
    if (resp.status == 401 || resp.status == 403)
        CHECK(err.kind == DBX_EAUTH);
    else
        CHECK(err.kind == DBX_EAUTH || err.kind == DBX_EHTTP);
    CHECK(memchr(err.message, '\0', sizeof err.message) != NULL);
    CHECK(memchr(err.error_code, '\0', sizeof err.error_code) != NULL);
    CHECK(memchr(err.request_id, '\0', sizeof err.request_id) != NULL);
    CHECK(strncmp(err.message, WHAT ": ", strlen(WHAT) + 2) == 0);

    memcpy(again, err.message, sizeof again);
    dbx_redact(again);
    CHECK(strcmp(again, err.message) == 0);

    dbx_err_format(&err, line, sizeof line);
    CHECK(memchr(line, '\0', sizeof line) != NULL);
    big = malloc(2048);
    CHECK(big != NULL);
    dbx_err_format(&err, big, 2048);
    CHECK(strlen(big) < 2048);
    free(big);
    dbx_http_response_free(&resp);
    return 0;
}
