/* chunk.c — batches of rows in a JSON_ARRAY chunk body (see chunk.h).
 *
 * One forward pass. Inside a string only '"' and '\' matter, so the scan
 * jumps from quote to quote with memchr (vectorised in libc) and counts the
 * backslashes before each quote; everything else is a byte compare. The
 * depth of nested brackets inside a row (ARRAY/MAP/STRUCT values come as
 * strings, but a scanner must not trust that) is counted, never recursed
 * into, so no input can exhaust the stack; a bracket of the wrong kind
 * inside a row is left for lua-cjson to refuse, only the row's own ']' is
 * checked here. */
#include "chunk.h"

#include <stdlib.h>
#include <string.h>

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_space(const char *s, size_t i, size_t n)
{
    while (i < n && is_space(s[i]))
        i++;
    return i;
}

/* s[i] is the opening quote: the index just past the closing one, or 0. */
static size_t skip_string(const char *s, size_t i, size_t n)
{
    size_t p = i + 1;
    for (;;) {
        const char *q = p < n ? memchr(s + p, '"', n - p) : NULL;
        size_t at, bs = 0;
        if (!q)
            return 0;
        at = (size_t)(q - s);
        while (at - bs > i + 1 && s[at - bs - 1] == '\\')
            bs++;
        if (bs % 2 == 0)
            return at + 1;
        p = at + 1;
    }
}

/* s[i] is the '[' of a row: the index just past its ']' and, in *values,
 * how many values it holds (commas at its own level, plus one unless it is
 * empty); or 0 with *why. */
static size_t skip_row(const char *s, size_t i, size_t n, size_t *values, const char **why)
{
    size_t depth = 0, commas = 0;
    int any = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            size_t end = skip_string(s, i, n);
            if (!end) {
                *why = "a string does not end";
                return 0;
            }
            any = 1;
            i = end;
            continue;
        }
        if (c == '[' || c == '{') {
            if (depth)
                any = 1;
            depth++;
        } else if (c == ']' || c == '}') {
            if (depth == 0) {
                *why = "a bracket closes what was never opened";
                return 0;
            }
            if (--depth == 0) {
                if (c != ']') {
                    *why = "a row closes with '}'";
                    return 0;
                }
                *values = any ? commas + 1 : 0;
                return i + 1;
            }
        } else if (c == ',' && depth == 1) {
            commas++;
        } else if (!is_space(c)) {
            any = 1;
        }
        i++;
    }
    *why = "a row does not end";
    return 0;
}

static int add_span(dbx_chunk_index *x, size_t off, size_t len, size_t rows)
{
    if (x->nspans == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 16;
        dbx_batch_span *p = realloc(x->spans, cap * sizeof *p);
        if (!p)
            return -1;
        x->spans = p;
        x->cap = cap;
    }
    x->spans[x->nspans].off = off;
    x->spans[x->nspans].len = len;
    x->spans[x->nspans].rows = rows;
    x->nspans++;
    return 0;
}

static int fail(dbx_err *err, const char *what, size_t at)
{
    return dbx_err_set(err, DBX_EPROTOCOL, "the chunk is not a JSON array of rows: %s at byte %zu", what, at);
}

int dbx_chunk_split(const char *body, size_t n, size_t batch_bytes, size_t batch_rows, size_t ncols,
                    dbx_chunk_index *out, dbx_err *err)
{
    size_t i = skip_space(body, 0, n), start = 0, rows = 0, last_end = 0;
    const char *why = NULL;
    if (batch_bytes == 0)
        batch_bytes = DBX_BATCH_BYTES;
    if (batch_rows == 0)
        batch_rows = DBX_BATCH_ROWS;
    if (i >= n || body[i] != '[')
        return fail(err, "it does not start with '['", i);
    i = skip_space(body, i + 1, n);
    if (i < n && body[i] == ']') {
        i = skip_space(body, i + 1, n);
        return i == n ? 0 : fail(err, "text after the closing ']'", i);
    }
    for (;;) {
        size_t end, values = 0;
        if (i >= n)
            return fail(err, "it ends inside the array", i);
        if (body[i] != '[')
            return fail(err, "an element is not a row array", i);
        if (rows == 0)
            start = i;
        end = skip_row(body, i, n, &values, &why);
        if (!end)
            return fail(err, why, i);
        if (ncols && values != ncols)
            return dbx_err_set(err, DBX_EPROTOCOL,
                               "row %zu of the chunk has %zu values, the result has %zu columns (at byte %zu)",
                               out->rows + 1, values, ncols, i);
        rows++;
        out->rows++;
        last_end = end;
        if (end - start >= batch_bytes || rows >= batch_rows) {
            if (add_span(out, start, end - start, rows) != 0)
                return dbx_err_set(err, DBX_EIO, "out of memory indexing a result chunk");
            rows = 0;
        }
        i = skip_space(body, end, n);
        if (i < n && body[i] == ',') {
            i = skip_space(body, i + 1, n);
            continue;
        }
        if (i < n && body[i] == ']')
            break;
        return fail(err, i < n ? "a separator is not ','" : "it ends inside the array", i);
    }
    if (rows > 0 && add_span(out, start, last_end - start, rows) != 0)
        return dbx_err_set(err, DBX_EIO, "out of memory indexing a result chunk");
    i = skip_space(body, i + 1, n);
    return i == n ? 0 : fail(err, "text after the closing ']'", i);
}

void dbx_chunk_index_free(dbx_chunk_index *x)
{
    free(x->spans);
    memset(x, 0, sizeof *x);
}
