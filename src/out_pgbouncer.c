/* out_pgbouncer.c — the `pgbouncer` output kind: pgbouncer's auth_file,
 * through userlist.c's pure rewrite (only this user's password is
 * replaced; every other byte is kept). pgbouncer re-reads the file on
 * RELOAD (or SIGHUP): pair it with --on-rotate. */
#include <stdio.h>

#include "outputs.h"
#include "userlist.h"

static int rewrite(const char *old, size_t n, int existed, const dbx_credential *c, dbx_buf *out,
                   dbx_output_edit *r, dbx_err *err)
{
    dbx_userlist_edit e;
    if (dbx_userlist_check(c->username, c->password, err) != 0)
        return -1;
    if (dbx_userlist_rewrite(old, n, existed, c->username, c->password, out, &e) != 0)
        return dbx_err_set(err, DBX_EIO, "out of memory rewriting a pgbouncer auth_file");
    snprintf(r->action, sizeof r->action, "%s", dbx_userlist_action_name(e.action));
    r->changed = e.changed;
    if (e.unreachable)
        snprintf(r->warning, sizeof r->warning,
                 "pgbouncer stops reading this file at line %zu (a line starting with neither '\"' nor ';'), "
                 "so the rotated line after it is never read: fix that line",
                 e.broken_line);
    return 0;
}

const dbx_output_kind dbx_output_pgbouncer = {
    "pgbouncer", rewrite, "pgbouncer's auth_file: only this user's \"user\" \"password\" line is replaced",
};
