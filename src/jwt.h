/* jwt.h — reads a JWT's claims WITHOUT verifying it. The connector only
 * needs `exp` (to schedule rotations and refuse expired tokens) and `sub`
 * (for logs); verification is the server's job. Never log a token. */
#ifndef DBX_JWT_H
#define DBX_JWT_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/* Writes the decoded payload (JSON text) of a three-part JWT into out.
 * -1 with a protocol error when the token is not JWT-shaped. */
int dbx_jwt_payload(const char *token, dbx_buf *out, dbx_err *err);

#endif
