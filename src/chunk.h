/* chunk.h — the body of one EXTERNAL_LINKS result chunk in JSON_ARRAY format
 * (`[[row 0 values], [row 1 values], ...]`) cut into batches of whole rows.
 *
 * lua-cjson stays the project's one JSON decoder (DESIGN.md §1): this file
 * never turns text into values. It checks the chunk's shape — one array
 * whose elements are arrays, strings that end, brackets that nest,
 * separators where they belong — and records where each batch of rows
 * starts and ends, so the binding can hand lua-cjson `"[" batch "]"` a few
 * hundred KiB at a time instead of a whole chunk: the Lua tables of one
 * batch, not of a whole chunk, are alive at any moment (the memory bound of
 * DESIGN.md §6), and a batch stays in the CPU cache while it is decoded and
 * typed. It runs on the download thread (cloudfetch.c), beside the
 * decoding on the Lua thread.
 *
 * It also counts each row's values against the manifest's columns.
 *
 * Pure: no I/O, no Lua, no clock; allocation only for the list of batches.
 * Errors say what and at which byte offset, never quote the body (a result
 * may hold anything). */
#ifndef DBX_CHUNK_H
#define DBX_CHUNK_H

#include <stddef.h>

#include "err.h"

/* A batch: text[off .. off+len) holds `rows` whole rows and the commas
 * between them, no outer brackets. */
typedef struct dbx_batch_span {
    size_t off, len, rows;
} dbx_batch_span;

typedef struct dbx_chunk_index {
    dbx_batch_span *spans;
    size_t nspans, cap;
    size_t rows; /* in the whole chunk */
} dbx_chunk_index;

/* Default batch limits: a batch closes after the row that takes it to
 * `batch_bytes` bytes or `batch_rows` rows. */
#define DBX_BATCH_BYTES ((size_t)256 << 10)
#define DBX_BATCH_ROWS ((size_t)4096)

/* Indexes body[0..n); with ncols > 0, every row must hold exactly ncols
 * values (the manifest's column count; checked here, on the download
 * thread, so untyped rows need no second look on the Lua thread). 0, or -1
 * with a protocol error (out of memory: io). `out` must be zeroed; free it
 * with dbx_chunk_index_free in both cases. */
int dbx_chunk_split(const char *body, size_t n, size_t batch_bytes, size_t batch_rows, size_t ncols,
                    dbx_chunk_index *out, dbx_err *err);
void dbx_chunk_index_free(dbx_chunk_index *x);

#endif
