/* pkce.h — PKCE (RFC 7636, S256): the challenge of a verifier. The
 * verifier and the OAuth state are random values (random.h). */
#ifndef DBX_PKCE_H
#define DBX_PKCE_H

#include "buf.h"
#include "err.h"

/* challenge = base64url(SHA-256(verifier)), no padding. */
int dbx_pkce_challenge(const char *verifier, dbx_buf *out, dbx_err *err);

#endif
