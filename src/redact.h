/* redact.h — scrubs text before it can reach an error, a log line, the
 * status file or the terminal. One entry point, dbx_redact, does all of it:
 *   - control characters (ESC, CR, LF, ...) become '?' or a space, so a
 *     server cannot forge a log line or send terminal escapes;
 *   - every secret the process knows (the registry below: PATs, client
 *     secrets, access/refresh tokens, Basic credentials, Lakebase passwords,
 *     OIDC subject tokens, external links) is replaced wherever it appears,
 *     whatever its shape — no prefix is needed;
 *   - pattern rules catch what any Databricks secret looks like even when it
 *     was never registered (JWTs, dapi/dose PATs and secrets, Bearer/Basic
 *     credentials, key=value and "key": "value" pairs with secret-bearing
 *     keys), without mangling prose ("only Bearer is supported" stays).
 *
 * The registry is the one piece of process-wide mutable state besides
 * libcurl's init and the stop flag: "every secret the process knows" is a
 * process-wide notion (an error built by any client, any Lua state, may
 * carry an echo of any of them). It is guarded by a mutex, holds private
 * copies that are wiped when the last owner removes them, and has no size
 * limit. */
#ifndef DBX_REDACT_H
#define DBX_REDACT_H

#include <stddef.h>

#define DBX_REDACTED "[REDACTED]"

/* Registers a secret (copied; reference-counted, so two owners of the same
 * value each add and remove it). Its URL-encoded form is covered too, as a
 * form body echoed back would show it. Values shorter than 6 bytes are
 * ignored (short words must survive). Out of memory: the value is not
 * registered; the pattern rules still apply. */
void dbx_secret_add(const char *s);
void dbx_secret_remove(const char *s);
/* How many distinct values are registered (for tests). */
size_t dbx_secret_count(void);
/* 1 when s contains a registered secret (child environments are built
 * without such variables). */
int dbx_secret_contained(const char *s);

/* The full scrub described above, in place. It never makes a string longer:
 * callers scrub fixed-size buffers. A secret shorter than the marker becomes
 * "***". */
void dbx_redact(char *s);

/* dbx_redact plus a list of further secrets (NULL-terminated; entries
 * shorter than 6 bytes are ignored). */
void dbx_redact_known(char *s, const char *const *secrets);

#endif
