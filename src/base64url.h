/* base64url.h — RFC 4648 base64: §5 base64url without padding (PKCE, JWT)
 * and §4 standard base64 with padding (HTTP Basic). */
#ifndef DBX_BASE64URL_H
#define DBX_BASE64URL_H

#include <stddef.h>

#include "buf.h"

/* Appends the encoding of p[0..n). 0 or -1 (no memory). */
int dbx_b64url_encode(dbx_buf *out, const unsigned char *p, size_t n);
/* Appends standard base64 with '=' padding. 0 or -1. */
int dbx_b64_encode(dbx_buf *out, const unsigned char *p, size_t n);
/* Appends the decoding of s[0..n); accepts and ignores '=' padding at the
 * end, also accepts standard '+' '/'. -1 on any other character or a
 * length that cannot be base64. */
int dbx_b64url_decode(dbx_buf *out, const char *s, size_t n);

#endif
