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
