/* pkce.h — PKCE (RFC 7636, S256) and OAuth state values, from OpenSSL's
 * CSPRNG. */
#ifndef DBX_PKCE_H
#define DBX_PKCE_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

/* base64url of `nbytes` random bytes (verifier: 32..96 bytes; state: 16+). */
int dbx_random_b64url(dbx_buf *out, size_t nbytes, dbx_err *err);
/* challenge = base64url(SHA-256(verifier)), no padding. */
int dbx_pkce_challenge(const char *verifier, dbx_buf *out, dbx_err *err);

#endif
