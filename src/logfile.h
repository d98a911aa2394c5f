/* logfile.h — the rotator's log file: created 0600 (never wider), appended
 * one line per write(2) so concurrent writers never interleave inside a
 * line, and size-rotated (path -> path.1 -> ... -> path.<keep>). Every line
 * passes through the redactor before it is written. */
#ifndef DBX_LOGFILE_H
#define DBX_LOGFILE_H

#include <stddef.h>

#include "err.h"

typedef struct dbx_logfile dbx_logfile;

dbx_logfile *dbx_logfile_open(const char *path, size_t max_bytes, int keep, dbx_err *err);
/* Writes one line (a '\n' is added). */
int dbx_logfile_write(dbx_logfile *l, const char *line, size_t n, dbx_err *err);
void dbx_logfile_close(dbx_logfile *l);

#endif
