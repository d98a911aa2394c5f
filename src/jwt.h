/* jwt.h — reads a JWT's claims WITHOUT verifying it. The connector only
 * needs `exp` (to schedule rotations and refuse expired tokens) and `sub`
 * (for logs); verification is the server's job. Never log a token. */
#ifndef DBX_JWT_H
#define DBX_JWT_H

#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "json.h"

/* Writes the decoded payload (JSON text) of a three-part JWT into out.
 * -1 with a protocol error when the token is not JWT-shaped. */
int dbx_jwt_payload(const char *token, dbx_buf *out, dbx_err *err);

/* The claims the connector uses; 0 / "" when absent (exp and iat also 0
 * when they are not a NumericDate in 1970..9999). */
typedef struct dbx_claims {
    double exp;
    double iat;
    char sub[256];
} dbx_claims;

/* Decodes the payload and reads exp, iat and sub (unverified). -1 with a
 * protocol error when the token is not a JWT with a JSON object payload. */
int dbx_jwt_claims(dbx_jsonenv *env, const char *token, dbx_claims *out, dbx_err *err);

#endif
