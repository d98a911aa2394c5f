/* fuzz_errshape.c — libFuzzer driver for the REST error shapes read by
 * src/httperr.c beyond the plain JSON body (fuzz_httperr.c covers those):
 * the response headers (Location of the private-link redirect) together
 * with "CODE: message" text, SCIM scimType/detail, numeric error_code and
 * details[] bodies.
 *
 * Input layout: byte 0 picks the status (a 3xx, 400, 403, 404, 409, 500,
 * 502 or any of 0..599 from byte 1); then the raw response header block up
 * to the first "\n\n" (as libcurl hands the transport its header lines);
 * the rest is the body.
 *
 * Checked: always -1; a private-link redirect (dbx_http_is_private_link) is
 * PRIVATE_LINK_VALIDATION_ERROR, status 403, kind auth, and only a 3xx can
 * be one; a body that is "CODE: message" (A-Z and '_', then ": ") and not
 * JSON gets exactly that code; an empty body of a known status gets a code;
 * every field is terminated; message and code have no control character and
 * are already redacted; details is "" or a JSON text that decodes; the
 * message starts with the operation's name; the JSON environment's stack is
 * balanced.
 *
 * Run: fuzz/run.sh errshape. Replayed by spec/c/fuzz_errshape_corpus.c. */
#define DBX_FUZZ_WANT_JSON 1
#include "fuzz_common.h"

#include "http.h"
#include "httperr.h"
#include "redact.h"

#define WHAT "GET /api/2.1/unity-catalog/tables/x"

static const long statuses[] = {301, 302, 303, 307, 308, 400, 403, 404, 409, 500, 502};

static int no_controls(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
            return 0;
    return 1;
}

/* "CODE: " at the start (the text shape). */
static size_t code_prefix(const char *b, size_t n)
{
    size_t c = 0;
    while (c < n && ((b[c] >= 'A' && b[c] <= 'Z') || b[c] == '_'))
        c++;
    return c > 0 && c + 2 <= n && b[c] == ':' && b[c + 1] == ' ' ? c : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbx_jsonenv *env = fuzz_jsonenv();
    dbx_http_response resp;
    dbx_err err;
    const uint8_t *p, *hend = NULL;
    size_t n, hn, bn;
    char again[sizeof err.message];
    int private_link;
    if (size < 2)
        return 0;
    dbx_http_response_init(&resp);
    resp.status = data[0] < sizeof statuses / sizeof statuses[0] * 16
                      ? statuses[data[0] % (sizeof statuses / sizeof statuses[0])]
                      : (long)(data[1] * 3 % 600);
    p = data + 2;
    n = size - 2;
    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == '\n' && p[i + 1] == '\n') {
            hend = p + i;
            break;
        }
    hn = hend ? (size_t)(hend - p) : 0;
    if (hn)
        CHECK(dbx_buf_append(&resp.headers, p, hn) == 0);
    bn = hend ? n - hn - 2 : n;
    if (bn)
        CHECK(dbx_buf_append(&resp.body, hend ? hend + 2 : p, bn) == 0);

    private_link = dbx_http_is_private_link(&resp);
    CHECK(!private_link || (resp.status >= 300 && resp.status <= 399));
    dbx_err_clear(&err);
    CHECK(dbx_http_error(env, &resp, WHAT, &err) == -1);
    fuzz_json_done();
    CHECK(memchr(err.message, '\0', sizeof err.message) != NULL);
    CHECK(memchr(err.error_code, '\0', sizeof err.error_code) != NULL);
    CHECK(memchr(err.details, '\0', sizeof err.details) != NULL);
    CHECK(no_controls(err.message) && no_controls(err.error_code));
    CHECK(strncmp(err.message, WHAT ": ", strlen(WHAT) + 2) == 0);
    memcpy(again, err.message, sizeof again);
    dbx_redact(again);
    CHECK(strcmp(again, err.message) == 0);
    if (private_link) {
        CHECK(strcmp(err.error_code, "PRIVATE_LINK_VALIDATION_ERROR") == 0);
        CHECK(err.status == 403 && err.kind == DBX_EAUTH);
        CHECK(err.details[0] == '\0');
    } else {
        CHECK(err.status == resp.status);
        if (bn == 0 && (resp.status == 404 || resp.status == 400 || resp.status == 500))
            CHECK(err.error_code[0] != '\0');
        if (bn == 0 && resp.status == 404)
            CHECK(strcmp(err.error_code, "NOT_FOUND") == 0);
        {
            const char *b = dbx_buf_str(&resp.body);
            size_t c = code_prefix(b, bn);
            dbx_json *j = bn ? dbx_json_decode(env, b, bn) : NULL;
            if (c && !j && c < sizeof err.error_code) {
                char want[sizeof err.error_code];
                memcpy(want, b, c);
                want[c] = '\0';
                dbx_redact(want);
                CHECK(strcmp(err.error_code, want) == 0);
            }
            dbx_json_free(j);
            fuzz_json_done();
        }
    }
    if (err.details[0]) {
        dbx_json *d;
        /* The details are an array re-encoded by lua-cjson: decodable as
         * the element of a wrapper object. */
        dbx_buf w = {0};
        CHECK(dbx_buf_puts(&w, "{\"d\":") == 0 && dbx_buf_puts(&w, err.details) == 0 && dbx_buf_puts(&w, "}") == 0);
        d = dbx_json_decode(env, w.data, w.len);
        CHECK(d != NULL);
        dbx_json_free(d);
        dbx_buf_free(&w);
        fuzz_json_done();
    }
    dbx_http_response_free(&resp);
    return 0;
}
