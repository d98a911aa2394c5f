/* buf.h — a growable byte buffer, always NUL-terminated, with an optional
 * size cap (used to bound HTTP response bodies). The owner calls
 * dbx_buf_free exactly once; a zeroed dbx_buf is a valid empty buffer.
 * Buffers that may hold secrets are wiped on free. */
#ifndef DBX_BUF_H
#define DBX_BUF_H

#include <stddef.h>

typedef struct dbx_buf {
    char *data;  /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t limit; /* 0 = unlimited; appends past it fail */
} dbx_buf;

/* 0 on success, -1 when out of memory or over the limit. */
int dbx_buf_append(dbx_buf *b, const void *p, size_t n);
int dbx_buf_puts(dbx_buf *b, const char *s);
int dbx_buf_printf(dbx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
int dbx_buf_json_string(dbx_buf *b, const char *s);
/* Appends s percent-encoded for application/x-www-form-urlencoded or a URL
 * query component (unreserved characters kept, everything else %XX). */
int dbx_buf_urlencode(dbx_buf *b, const char *s);
/* Makes room for `more` further bytes (plus the NUL) in one exact
 * allocation, for callers that know the final size: growth by doubling would
 * copy and wipe a large buffer several times. 0, or -1 (no memory, or past
 * the limit). */
int dbx_buf_reserve(dbx_buf *b, size_t more);
/* Returns the data ("" when empty). */
const char *dbx_buf_str(const dbx_buf *b);
void dbx_buf_reset(dbx_buf *b);
/* Zeroes the contents, then frees. */
void dbx_buf_free(dbx_buf *b);

/* Zeroes memory in a way the compiler may not drop. */
void dbx_wipe(void *p, size_t n);

#endif
