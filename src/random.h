/* random.h — random values from OpenSSL's CSPRNG: base64url strings (PKCE
 * verifiers, OAuth state) and version-4 UUIDs (request ids, Spark Connect
 * session ids); and the cheap generator that spreads retries (jitter). The
 * one home of randomness in the connector. */
#ifndef DBX_RANDOM_H
#define DBX_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* base64url of `nbytes` random bytes (verifier: 32..96 bytes; state: 16+). */
int dbx_random_b64url(dbx_buf *out, size_t nbytes, dbx_err *err);

/* A random UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" (37 bytes with the
 * NUL). 0, or -1 with err when the generator fails. */
int dbx_uuid4(char out[37], dbx_err *err);

/* Jitter for retry back-off: a state seeded from the CSPRNG (from the clock
 * should it fail; never 0), then uniform values in [0, 1) from xorshift64*.
 * Not for secrets. */
uint64_t dbx_jitter_seed(void);
double dbx_jitter_next(uint64_t *state);

#endif
