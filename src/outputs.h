/* outputs.h — where a rotated credential is written: the output kinds of
 * `--output KIND:PATH` (DESIGN.md §8). Each kind is a pure rewrite of a
 * file's old contents into its new contents, in a file of its own
 * (out_pgpass.c, out_pgbouncer.c, out_env.c, out_json.c), registered in the
 * table of outputs.c. outputs.c writes every kind the same way, through
 * atomicfile.h: 0600 from creation, atomic, locked, symlinks followed to
 * the target, an existing file readable by others rewritten as 0600, the
 * old file byte-identical on any failure. A fifth kind is one file and one
 * row. Nothing here logs or returns a password. */
#ifndef DBX_OUTPUTS_H
#define DBX_OUTPUTS_H

#include <stddef.h>

#include "atomicfile.h"
#include "buf.h"
#include "err.h"

/* What every kind writes. */
typedef struct dbx_credential {
    const char *host, *port, *database, *username, *password;
    double expires_at; /* epoch seconds, 0 when unknown */
} dbx_credential;

/* What a rewrite did (filled by the kind). */
typedef struct dbx_output_edit {
    char action[16];  /* created, appended, inserted, replaced, unchanged, written */
    int changed;      /* the new text differs from the old one */
    char warning[160]; /* something the user should know (a shadowing line), "" if none */
} dbx_output_edit;

/* The pure rewrite: `old` (n bytes; existed 0 when there is no file) into
 * `out`. 0, or -1 with err (config for an entry the format cannot hold). */
typedef int (*dbx_output_rewrite_fn)(const char *old, size_t n, int existed, const dbx_credential *c,
                                     dbx_buf *out, dbx_output_edit *r, dbx_err *err);

typedef struct dbx_output_kind {
    const char *name;          /* "pgpass", ... as in --output KIND:PATH */
    dbx_output_rewrite_fn rewrite;
    const char *summary;       /* one line for help texts */
} dbx_output_kind;

extern const dbx_output_kind dbx_output_pgpass, dbx_output_pgbouncer, dbx_output_env, dbx_output_json;

/* The kind named `name`, or NULL. */
const dbx_output_kind *dbx_output_find(const char *name);
/* The kinds, NULL-terminated (for help texts and specs). */
const dbx_output_kind *const *dbx_output_kinds(void);

typedef struct dbx_output_result {
    dbx_output_edit edit;
    dbx_af_state file; /* resolved target, written, mode_fixed (free with dbx_af_state_free) */
} dbx_output_result;

/* Writes the credential into `path` (NULL for pgpass: $PGPASSFILE, else
 * ~/.pgpass). `r` must be zeroed; free r->file. 0, or -1 with err naming the
 * file. */
int dbx_output_write(const dbx_output_kind *k, const char *path, const dbx_credential *c, double lock_timeout,
                     dbx_output_result *r, dbx_err *err);

#endif
