/* fuzz_token.c — libFuzzer driver for the token answers handed to the core:
 * an OAuth token endpoint's JSON (src/oauth.c dbx_oauth_parse_token) and the
 * Databricks CLI's `auth token` output (src/clitoken.c dbx_cli_parse_token).
 * Both come from outside the process (a server, a program on PATH).
 *
 * The input is the JSON text (exact-size heap copy). Checked:
 *  - OAuth: 0 with a non-empty access token (and refresh token, if any)
 *    equal byte for byte to the JSON's string, obtained_at == now and a
 *    finite expiry after now and no later than year 9999 (expires_in, else
 *    the JWT's exp, else an hour); or -1 with a terminated protocol/io error
 *    and no token left allocated;
 *  - CLI: 0 with a non-empty access token equal to the JSON's and an
 *    expiry that is 0 (unknown) or finite within years 1..9999; or -1
 *    likewise;
 *  - the Lua stack of the JSON environment is balanced after every call.
 *
 * Run: fuzz/run.sh token. Replayed by spec/c/fuzz_token_corpus.c. */
#define DBX_FUZZ_WANT_JSON 1
#include "fuzz_common.h"

#include <math.h>

#include "clitoken.h"
#include "oauth.h"
#include "token.h"

#define NOW 1795255200.0 /* 2026-11-21T10:00:00Z */
#define MAX_T 253402300799.0

/* The token is exactly the JSON's string (a "\u0000" inside must not cut
 * it short): decoded again here and compared byte for byte. */
static void check_same(dbx_jsonenv *env, const char *body, size_t n, const char *field, const char *got)
{
    dbx_json *j = dbx_json_decode(env, body, n);
    const char *want;
    size_t len = 0;
    CHECK(j != NULL);
    want = dbx_json_string(j, field, &len);
    if (got)
        CHECK(want && len == strlen(got) && memcmp(want, got, len) == 0);
    dbx_json_free(j);
}

static void check_error(const dbx_err *err, const dbx_token *t)
{
    CHECK(memchr(err->message, '\0', sizeof err->message) != NULL && err->message[0]);
    CHECK(err->kind == DBX_EPROTOCOL || err->kind == DBX_EIO);
    CHECK(t->access == NULL && t->refresh == NULL);
}

static void check_oauth(dbx_jsonenv *env, const char *body, size_t n)
{
    dbx_token t = {0};
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_oauth_parse_token(env, body, n, NOW, 0, &t, &err) == 0) {
        CHECK(t.access && t.access[0]);
        CHECK(t.obtained_at == NOW);
        CHECK(isfinite(t.expires_at) && t.expires_at >= NOW && t.expires_at <= MAX_T);
        CHECK(dbx_token_valid(t.access) && (!t.refresh || dbx_token_valid(t.refresh)));
        CHECK(dbx_token_check(&t, NOW) != DBX_TOKEN_NONE);
        check_same(env, body, n, "access_token", t.access);
        check_same(env, body, n, "refresh_token", t.refresh);
    } else {
        check_error(&err, &t);
    }
    fuzz_json_done();
    dbx_token_clear(&t);
}

static void check_cli(dbx_jsonenv *env, const char *body, size_t n)
{
    dbx_token t = {0};
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_cli_parse_token(env, body, n, NOW, &t, &err) == 0) {
        CHECK(t.access && t.access[0] && !t.refresh);
        CHECK(isfinite(t.expires_at) && t.expires_at >= NOW && t.expires_at <= MAX_T + 2 * 86400);
        CHECK(dbx_token_valid(t.access));
        dbx_token_check(&t, NOW);
        check_same(env, body, n, "access_token", t.access);
    } else {
        check_error(&err, &t);
    }
    fuzz_json_done();
    dbx_token_clear(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbx_jsonenv *env = fuzz_jsonenv();
    char *body = fuzz_exact(data, size);
    check_oauth(env, body, size);
    check_cli(env, body, size);
    fuzz_free_exact(body, size);
    return 0;
}
