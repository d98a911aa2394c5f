/* pgpass.h — libpq's password file (.pgpass): parsing, escaping, look-up and
 * the one-entry rewrite the rotator needs, plus the file-level update and
 * look-up built on atomicfile.h.
 *
 * Format (libpq, fe-connect.c passwordFromFile): lines
 * `host:port:database:username:password`; a backslash escapes the next byte in
 * every field; a line whose first byte is `#` is a comment; trailing CR/LF
 * bytes are stripped from each line; a key field that is exactly an unescaped
 * `*` matches anything; the password runs to the next unescaped `:` or the end
 * of the line; the first matching line wins. One deviation: a line containing
 * a NUL byte never matches (libpq's behaviour there depends on its read
 * buffer sizes).
 *
 * The buffer functions are pure (no I/O, no globals) so that fuzz drivers
 * and unit tests reach them directly. Nothing here ever puts a password into
 * an error message. */
#ifndef DBX_PGPASS_H
#define DBX_PGPASS_H

#include <stddef.h>

#include "atomicfile.h"
#include "buf.h"
#include "err.h"

/* An entry to write, or a key to look up (password unused). For update, a
 * key field that is exactly "*" means libpq's wildcard; for look-up the key
 * is the literal connection parameters, as libpq gets them. */
typedef struct dbx_pgpass_entry {
    const char *host;
    const char *port;
    const char *database;
    const char *username;
    const char *password;
} dbx_pgpass_entry;

#define DBX_PGPASS_NKEYS 4 /* host, port, database, username */

/* ---- one line -------------------------------------------------------- */

typedef enum dbx_pgpass_line_kind {
    DBX_PGPASS_BLANK,   /* nothing before the line end */
    DBX_PGPASS_COMMENT, /* first byte '#' */
    DBX_PGPASS_ENTRY,   /* four ':'-terminated key fields and a password */
    DBX_PGPASS_INVALID  /* anything else: libpq never matches it */
} dbx_pgpass_line_kind;

typedef struct dbx_pgpass_field {
    const char *raw; /* escaped bytes as in the file (no terminating ':') */
    size_t len;
    int wild; /* the field is exactly an unescaped '*' (key fields only) */
} dbx_pgpass_field;

typedef struct dbx_pgpass_line {
    dbx_pgpass_line_kind kind;
    size_t content_len; /* bytes before the line end */
    size_t end_len;     /* the trailing run of CR/LF bytes ("" on a last line without one) */
    dbx_pgpass_field key[DBX_PGPASS_NKEYS];
    dbx_pgpass_field password; /* up to the unescaped ':' or end; still escaped */
} dbx_pgpass_line;

/* Parses the line starting at s (n bytes left) and returns its length
 * including the '\n' (0 only when n == 0). Fields point into s. */
size_t dbx_pgpass_parse_line(const char *s, size_t n, dbx_pgpass_line *line);

/* 1 when the escaped field equals the literal value (libpq's comparison). */
int dbx_pgpass_field_equals(const dbx_pgpass_field *f, const char *value, size_t n);

/* Appends the value of an escaped field, as libpq reads a password (a
 * backslash at the very end stays a backslash). 0, or -1 out of memory. */
int dbx_pgpass_unescape(dbx_buf *out, const char *raw, size_t n);

/* Appends s escaped for any field so libpq reads back exactly s: `\` and `:`
 * get a backslash, and so do a field that is exactly `*` (else it would be
 * the wildcard) and a leading `#` (else a first field would start a
 * comment). 0, or -1 out of memory. */
int dbx_pgpass_escape(dbx_buf *out, const char *s, size_t n);

/* ---- whole texts ------------------------------------------------------ */

/* Checks an entry given by a user (config error naming the field: empty
 * host/database/username/password, CR or LF anywhere, port not 1-65535 or
 * "*") and copies it to *ok with the port in canonical form (in port_buf). */
int dbx_pgpass_check_entry(const dbx_pgpass_entry *in, dbx_pgpass_entry *ok, char port_buf[8],
                           dbx_err *e);

/* Appends the line for a checked entry, without a line end. */
int dbx_pgpass_render(dbx_buf *out, const dbx_pgpass_entry *e);

typedef enum dbx_pgpass_action {
    DBX_PGPASS_CREATED,   /* there was no file */
    DBX_PGPASS_APPENDED,  /* new entry at the end */
    DBX_PGPASS_INSERTED,  /* new entry above the first wildcard line that would shadow it */
    DBX_PGPASS_REPLACED,  /* the first same entry got the new password, in place */
    DBX_PGPASS_UNCHANGED  /* the first same entry already had this password */
} dbx_pgpass_action;

const char *dbx_pgpass_action_name(dbx_pgpass_action a);

typedef struct dbx_pgpass_edit {
    dbx_pgpass_action action;
    size_t removed;     /* later duplicates of the entry dropped */
    size_t line;        /* 1-based line of the entry in the new text */
    size_t shadowed_by; /* REPLACED/UNCHANGED only: 1-based line of an earlier
                           wildcard line libpq matches first; 0 if none */
    int changed;        /* the new text differs from the old one */
} dbx_pgpass_edit;

/* The rewrite: copies `in` to `out` byte for byte except that the first line
 * holding the same entry (same four key fields, compared unescaped; a `*`
 * field is the same only as a `*` field) becomes the entry's line (its own
 * line end kept) and later ones are dropped; without one, the entry's line
 * goes directly above the first wildcard line that would shadow it, else at
 * the end (after adding a line end when the text lacks a final '\n'). New
 * line ends are "\r\n" when the text's first line end is "\r\n", else "\n".
 * When the first same entry already has the password it is kept byte for
 * byte (UNCHANGED). `e` must have passed dbx_pgpass_check_entry. 0, or -1
 * out of memory. */
int dbx_pgpass_rewrite(const char *in, size_t n, int existed, const dbx_pgpass_entry *e,
                       dbx_buf *out, dbx_pgpass_edit *r);

/* libpq's look-up: appends the password of the first matching line to
 * `password` and returns 1; 0 when no line matches; -1 out of memory. An
 * empty host means "localhost", an empty port "5432"; an empty database or
 * username never matches (as in libpq). */
int dbx_pgpass_find(const char *in, size_t n, const dbx_pgpass_entry *key, dbx_buf *password);

/* ---- files ----------------------------------------------------------- */

/* $PGPASSFILE when set and not empty, else $HOME/.pgpass (the passwd entry's
 * home when HOME is unset). */
int dbx_pgpass_default_path(dbx_buf *out, dbx_err *e);

typedef struct dbx_pgpass_report {
    dbx_pgpass_edit edit;
    dbx_af_state file; /* resolved target, written, mode_fixed, stale_removed */
} dbx_pgpass_report;

/* Checks `e`, then rewrites the file (path NULL: the default path) with
 * dbx_af_update: locked, atomic, 0600, symlinks followed, stale temp files
 * removed. An existing file with group/other bits is rewritten as 0600
 * (file.mode_fixed). When nothing changes (UNCHANGED without duplicates) the
 * file is not rewritten unless its mode needs fixing. `r` must be zeroed;
 * free it with dbx_pgpass_report_free. */
int dbx_pgpass_update(const char *path, const dbx_pgpass_entry *e, double lock_timeout,
                      dbx_pgpass_report *r, dbx_err *err);
void dbx_pgpass_report_free(dbx_pgpass_report *r);

/* Reads the file (path NULL: the default path) and runs dbx_pgpass_find:
 * 1 found (password appended), 0 no match or no file, -1 error. libpq's
 * permission check is not applied: this reports what the file says. */
int dbx_pgpass_lookup(const char *path, const dbx_pgpass_entry *key, dbx_buf *password,
                      dbx_err *err);

#endif
