/* userlist.h — pgbouncer's auth_file ("userlist.txt"): lines
 * `"user" "password"`, a `"` inside a field doubled, `;` starting a comment
 * line; read exactly the way pgbouncer's loader reads it (it stops at the
 * first line that starts with anything else, and for a user listed twice
 * the last line wins). Pure and fuzzed, like pgpass.h; the file handling is
 * outputs.c's. */
#ifndef DBX_USERLIST_H
#define DBX_USERLIST_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

typedef enum dbx_userlist_action {
    DBX_USERLIST_CREATED,   /* there was no file */
    DBX_USERLIST_APPENDED,  /* new line at the end */
    DBX_USERLIST_INSERTED,  /* new line above the first line pgbouncer cannot read */
    DBX_USERLIST_REPLACED,  /* the user's password replaced in place (every line of the user) */
    DBX_USERLIST_UNCHANGED  /* the user's lines already held this password */
} dbx_userlist_action;

const char *dbx_userlist_action_name(dbx_userlist_action a);

typedef struct dbx_userlist_edit {
    dbx_userlist_action action;
    size_t replaced;    /* lines of the user rewritten */
    size_t broken_line; /* 1-based line where pgbouncer stops reading, 0 if none */
    int unreachable;    /* a rewritten line lies beyond broken_line: pgbouncer never reads it */
    int changed;
} dbx_userlist_edit;

/* Checks a user and password for the format (no CR, LF or NUL; not empty).
 * 0, or -1 with a config error naming the field. */
int dbx_userlist_check(const char *user, const char *password, dbx_err *err);

/* Copies `in` to `out` byte for byte except the password field of every
 * line of `user`, which becomes `password` (escaped); without such a line,
 * a new one goes directly above the first line pgbouncer cannot read, else
 * at the end (after a line end when the text lacks one). New line ends are
 * "\r\n" when the text's first line end is, else "\n". 0, or -1 (no
 * memory). The entry must have passed dbx_userlist_check. */
int dbx_userlist_rewrite(const char *in, size_t n, int existed, const char *user, const char *password,
                         dbx_buf *out, dbx_userlist_edit *r);

/* pgbouncer's look-up: appends the password it would use for `user` and
 * returns 1; 0 when it has none; -1 no memory. */
int dbx_userlist_find(const char *in, size_t n, const char *user, dbx_buf *password);

/* Appends s as a quoted field ("..." with " doubled). 0 / -1. */
int dbx_userlist_quote(dbx_buf *out, const char *s);

#endif
