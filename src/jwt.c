/* jwt.c — JWT payload extraction (see jwt.h). The payload's JSON is decoded
 * by the caller through json.h; this file only splits and base64url-decodes. */
#include "jwt.h"

#include <string.h>

#include "base64url.h"

int dbx_jwt_payload(const char *token, dbx_buf *out, dbx_err *err)
{
    const char *p1, *p2;
    if (!token)
        return dbx_err_set(err, DBX_EPROTOCOL, "no token to decode");
    p1 = strchr(token, '.');
    p2 = p1 ? strchr(p1 + 1, '.') : NULL;
    if (!p1 || !p2 || strchr(p2 + 1, '.'))
        return dbx_err_set(err, DBX_EPROTOCOL, "token is not a JWT (expected three dot-separated parts)");
    if (dbx_b64url_decode(out, p1 + 1, (size_t)(p2 - p1 - 1)) != 0 || out->len == 0)
        return dbx_err_set(err, DBX_EPROTOCOL, "token payload is not valid base64url");
    return 0;
}

/* A NumericDate claim, or 0 when absent or not a plausible date. The value
 * is the server's, unverified: lua-cjson accepts 1e999 and nan, and the
 * callers convert expiries to integers (lua_pushinteger) and do arithmetic
 * with them, so only finite times in 1970..9999 get through (found by
 * fuzz/fuzz_jwt.c). */
static double numeric_date(const dbx_json *j, const char *claim)
{
    double v;
    if (dbx_json_number(j, claim, &v) != 0 || !(v >= 0 && v <= 253402300799.0))
        return 0;
    return v;
}

int dbx_jwt_claims(dbx_jsonenv *env, const char *token, dbx_claims *out, dbx_err *err)
{
    dbx_buf payload = {0};
    dbx_json *j;
    const char *s;
    size_t n = 0;
    memset(out, 0, sizeof *out);
    if (dbx_jwt_payload(token, &payload, err) != 0) {
        dbx_buf_free(&payload);
        return -1;
    }
    j = dbx_json_decode(env, payload.data, payload.len);
    dbx_buf_free(&payload);
    if (!j)
        return dbx_err_set(err, DBX_EPROTOCOL, "token payload is not a JSON object");
    out->exp = numeric_date(j, "exp");
    out->iat = numeric_date(j, "iat");
    if ((s = dbx_json_string(j, "sub", &n)) != NULL) {
        if (n >= sizeof out->sub)
            n = sizeof out->sub - 1;
        memcpy(out->sub, s, n);
        out->sub[n] = '\0';
    }
    dbx_json_free(j);
    return 0;
}
