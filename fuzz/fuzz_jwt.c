/* fuzz_jwt.c — libFuzzer driver for the JWT claims reader (src/jwt.c) and
 * the base64 codecs under it (src/base64url.c). Tokens come from servers and
 * from users' configs: never trusted, never verified, only read.
 *
 * Each input is used three ways:
 *  - as bytes: base64url and standard base64 round trips (encode then decode
 *    gives the bytes back; the encodings use only their alphabet and have the
 *    RFC 4648 length); decoding the input itself either fails or yields
 *    exactly floor(6 * chars / 8) bytes;
 *  - as a token string (up to the first NUL): dbx_jwt_payload and
 *    dbx_jwt_claims never crash, fail with a protocol error, or give claims
 *    whose exp and iat are finite NumericDates within years 1970..9999 (they
 *    end up in lua_pushinteger and time arithmetic) and a terminated sub;
 *  - as the JSON payload of a well-formed token "<header>.<b64url(input)>.sig"
 *    so the fuzzer reaches the claims' JSON directly: when the input is a
 *    JSON object the claims are read, sub is its "sub" string (truncated).
 *
 * Run: fuzz/run.sh jwt. Replayed by spec/c/fuzz_jwt_corpus.c. */
#define DBX_FUZZ_WANT_JSON 1
#include "fuzz_common.h"

#include <math.h>

#include "base64url.h"
#include "jwt.h"

#define MAX_NUMERIC_DATE 253402300799.0 /* 9999-12-31T23:59:59Z */

static void check_roundtrip(const uint8_t *data, size_t n)
{
    dbx_buf enc = {0}, std = {0}, dec = {0};
    CHECK(dbx_b64url_encode(&enc, data, n) == 0);
    CHECK(enc.len == n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0));
    for (size_t i = 0; i < enc.len; i++)
        CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", enc.data[i]) &&
              enc.data[i] != '\0');
    CHECK(dbx_b64url_decode(&dec, dbx_buf_str(&enc), enc.len) == 0);
    CHECK(dec.len == n && (n == 0 || memcmp(dec.data, data, n) == 0));
    dbx_buf_reset(&dec);

    CHECK(dbx_b64_encode(&std, data, n) == 0);
    CHECK(std.len == (n + 2) / 3 * 4);
    CHECK(dbx_b64url_decode(&dec, dbx_buf_str(&std), std.len) == 0);
    CHECK(dec.len == n && (n == 0 || memcmp(dec.data, data, n) == 0));
    dbx_buf_free(&enc);
    dbx_buf_free(&std);
    dbx_buf_free(&dec);
}

static void check_decode(const uint8_t *data, size_t n)
{
    char *s = fuzz_exact(data, n);
    dbx_buf dec = {0};
    size_t chars = n;
    while (chars > 0 && s[chars - 1] == '=')
        chars--;
    if (dbx_b64url_decode(&dec, s, n) == 0)
        CHECK(dec.len == chars * 6 / 8);
    dbx_buf_free(&dec);
    fuzz_free_exact(s, n);
}

static void check_claims_ok(const dbx_claims *c)
{
    CHECK(isfinite(c->exp) && c->exp >= 0 && c->exp <= MAX_NUMERIC_DATE);
    CHECK(isfinite(c->iat) && c->iat >= 0 && c->iat <= MAX_NUMERIC_DATE);
    CHECK(memchr(c->sub, '\0', sizeof c->sub) != NULL);
}

static void check_token(dbx_jsonenv *env, const char *token)
{
    dbx_buf payload = {0};
    dbx_claims c;
    dbx_err err;
    int prc, crc;
    dbx_err_clear(&err);
    prc = dbx_jwt_payload(token, &payload, &err);
    if (prc == 0)
        CHECK(payload.len > 0);
    else
        CHECK(err.kind == DBX_EPROTOCOL && err.message[0]);
    dbx_buf_free(&payload);

    dbx_err_clear(&err);
    crc = dbx_jwt_claims(env, token, &c, &err);
    if (crc == 0) {
        CHECK(prc == 0);
        check_claims_ok(&c);
    } else {
        CHECK(err.kind == DBX_EPROTOCOL && err.message[0]);
    }
}

/* The input as the payload of an otherwise well-formed token. */
static void check_payload(dbx_jsonenv *env, const uint8_t *data, size_t n)
{
    static const char header[] = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.";
    dbx_buf tok = {0};
    dbx_claims c;
    dbx_err err;
    int rc;
    CHECK(dbx_buf_puts(&tok, header) == 0);
    CHECK(dbx_b64url_encode(&tok, data, n) == 0);
    CHECK(dbx_buf_puts(&tok, ".c2lnbmF0dXJl") == 0);
    dbx_err_clear(&err);
    rc = dbx_jwt_claims(env, dbx_buf_str(&tok), &c, &err);
    if (n == 0)
        CHECK(rc != 0); /* an empty payload is not a JWT */
    if (rc == 0)
        check_claims_ok(&c);
    else
        CHECK(err.kind == DBX_EPROTOCOL && err.message[0]);
    /* The token must not be in the error (it may be a secret). */
    if (tok.len >= 16)
        CHECK(strstr(err.message, tok.data) == NULL);
    dbx_buf_free(&tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbx_jsonenv *env = fuzz_jsonenv();
    char *token = fuzz_cstr(data, size);
    check_roundtrip(data, size);
    check_decode(data, size);
    check_token(env, token);
    check_payload(env, data, size);
    free(token);
    fuzz_json_done();
    return 0;
}
