/* fuzz_loopback.c — libFuzzer driver for the browser sign-in's redirect
 * handling (src/loopback.c): the HTTP request any local process may send to
 * the loopback listener (dbx_callback_parse) and the redirect URI from the
 * user's config (dbx_parse_redirect_uri).
 *
 * Input: byte 0 picks the callback path the listener expects ("/",
 * "/callback", "/a/b/c"); the rest is the request head (exact-size heap copy:
 * the parser takes a length and must not read past it) and, up to its first
 * NUL, the redirect URI.
 *
 * Checked:
 *  - dbx_callback_parse returns -1, 0 or 1; every field is terminated inside
 *    its array; 1 only for a "GET <path>?..." request with a code or an
 *    error; 0 and -1 leave the fields empty unless a field was seen;
 *  - a request built from the input's bytes as percent-encoded code and
 *    state parses back to exactly those values (or is refused when a value
 *    does not fit or holds a NUL);
 *  - dbx_parse_redirect_uri: 0 with a loopback host, a port in 1..65535 and
 *    a path starting with '/', and the URI rebuilt from those parts parses to
 *    the same parts; or -1 with a config error.
 *
 * Run: fuzz/run.sh loopback. Replayed by spec/c/fuzz_loopback_corpus.c. */
#include "fuzz_common.h"

#include <strings.h>

#include "buf.h"
#include "loopback.h"

static const char *const paths[] = {"/", "/callback", "/a/b/c"};

static int terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void check_fields(const dbx_callback *cb)
{
    CHECK(terminated(cb->code, sizeof cb->code));
    CHECK(terminated(cb->state, sizeof cb->state));
    CHECK(terminated(cb->error, sizeof cb->error));
    CHECK(terminated(cb->error_description, sizeof cb->error_description));
}

static void check_request(const char *req, size_t n, const char *path)
{
    dbx_callback *cb = malloc(sizeof *cb);
    int rc;
    CHECK(cb != NULL);
    rc = dbx_callback_parse(req, n, path, cb);
    CHECK(rc == -1 || rc == 0 || rc == 1);
    check_fields(cb);
    if (rc == 1) {
        size_t plen = strlen(path);
        CHECK(cb->code[0] || cb->error[0]);
        CHECK(n > 4 + plen && memcmp(req, "GET ", 4) == 0 && memcmp(req + 4, path, plen) == 0 &&
              req[4 + plen] == '?');
    }
    free(cb);
}

/* Percent-encodes every byte but unreserved ones. */
static void pct(dbx_buf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        char e[3] = {'%', hex[p[i] >> 4], hex[p[i] & 15]};
        if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
            p[i] == '-' || p[i] == '_' || p[i] == '.' || p[i] == '~')
            CHECK(dbx_buf_append(b, p + i, 1) == 0);
        else
            CHECK(dbx_buf_append(b, e, 3) == 0);
    }
}

static void check_roundtrip(const uint8_t *data, size_t n, const char *path)
{
    size_t half = n / 2;
    const uint8_t *code = data, *state = data + half;
    size_t cn = half, sn = n - half;
    dbx_buf req = {0};
    dbx_callback *cb = malloc(sizeof *cb);
    char *exact;
    int rc, fits;
    CHECK(cb != NULL);
    if (cn == 0) {
        free(cb);
        return;
    }
    CHECK(dbx_buf_puts(&req, "GET ") == 0 && dbx_buf_puts(&req, path) == 0 && dbx_buf_puts(&req, "?code=") == 0);
    pct(&req, code, cn);
    CHECK(dbx_buf_puts(&req, "&state=") == 0);
    pct(&req, state, sn);
    CHECK(dbx_buf_puts(&req, " HTTP/1.1\r\nHost: localhost\r\n\r\n") == 0);
    exact = fuzz_exact((const uint8_t *)req.data, req.len);
    rc = dbx_callback_parse(exact, req.len, path, cb);
    fits = cn < sizeof cb->code && sn < sizeof cb->state && !memchr(code, '\0', cn) && !memchr(state, '\0', sn);
    if (fits) {
        CHECK(rc == 1);
        CHECK(strlen(cb->code) == cn && memcmp(cb->code, code, cn) == 0);
        CHECK(strlen(cb->state) == sn && (sn == 0 || memcmp(cb->state, state, sn) == 0));
    } else {
        CHECK(rc == -1);
    }
    check_fields(cb);
    fuzz_free_exact(exact, req.len);
    free(cb);
    dbx_buf_free(&req);
}

static void check_redirect(const char *uri)
{
    dbx_redirect r, again;
    dbx_err err;
    char rebuilt[512];
    dbx_err_clear(&err);
    if (dbx_parse_redirect_uri(uri, &r, &err) != 0) {
        CHECK(err.kind == DBX_ECONFIG && err.message[0]);
        return;
    }
    CHECK(terminated(r.host, sizeof r.host) && terminated(r.path, sizeof r.path));
    CHECK(strcasecmp(r.host, "localhost") == 0 || strcmp(r.host, "127.0.0.1") == 0 ||
          strcmp(r.host, "[::1]") == 0);
    CHECK(r.port >= 1 && r.port <= 65535);
    CHECK(r.path[0] == '/');
    CHECK(!strpbrk(r.path, "?#"));
    snprintf(rebuilt, sizeof rebuilt, "http://%s:%d%s", r.host, r.port, r.path);
    dbx_err_clear(&err);
    CHECK(dbx_parse_redirect_uri(rebuilt, &again, &err) == 0);
    CHECK(strcmp(again.host, r.host) == 0 && again.port == r.port && strcmp(again.path, r.path) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest;
    size_t n;
    const char *path;
    char *req, *uri;
    if (size == 0)
        return 0;
    path = paths[data[0] % 3];
    fuzz_take(data, size, 1, &rest, &n);
    req = fuzz_exact(rest, n);
    check_request(req, n, path);
    fuzz_free_exact(req, n);
    check_roundtrip(rest, n < 3000 ? n : 3000, path);
    uri = fuzz_cstr(rest, n);
    check_redirect(uri);
    free(uri);
    return 0;
}
