/* redact.h — scrubs secrets out of text before it can reach an error, a log
 * line or the terminal. Pattern rules catch what any Databricks secret looks
 * like (JWTs, dapi/dose PATs and secrets, Bearer/Basic credentials,
 * key=value and "key": "value" pairs with secret-bearing keys); the exact
 * rule removes secrets the caller knows (a client secret of any shape). */
#ifndef DBX_REDACT_H
#define DBX_REDACT_H

#include <stddef.h>

#define DBX_REDACTED "[REDACTED]"

/* Rewrites s in place (it only ever gets shorter or stays the same length
 * when the secret is at least as long as the marker; shorter secrets are
 * replaced by "***" so the buffer never grows). */
void dbx_redact(char *s);

/* Also replaces every occurrence of each known secret (NULL-terminated list;
 * entries shorter than 6 bytes are ignored so short words survive). */
void dbx_redact_known(char *s, const char *const *secrets);

#endif
