/* out_pgpass.c — the `pgpass` output kind: libpq's password file, through
 * pgpass.c's pure rewrite (only the same host:port:database:user entry is
 * replaced; every other byte is kept). */
#include <stdio.h>

#include "outputs.h"
#include "pgpass.h"

static int rewrite(const char *old, size_t n, int existed, const dbx_credential *c, dbx_buf *out,
                   dbx_output_edit *r, dbx_err *err)
{
    dbx_pgpass_entry in = {c->host, c->port, c->database, c->username, c->password}, ok;
    dbx_pgpass_edit e;
    char port[8];
    if (dbx_pgpass_check_entry(&in, &ok, port, err) != 0)
        return -1;
    if (dbx_pgpass_rewrite(old, n, existed, &ok, out, &e) != 0)
        return dbx_err_set(err, DBX_EIO, "out of memory rewriting a .pgpass file");
    snprintf(r->action, sizeof r->action, "%s", dbx_pgpass_action_name(e.action));
    r->changed = e.changed;
    if (e.shadowed_by)
        snprintf(r->warning, sizeof r->warning,
                 "line %zu is a wildcard entry that libpq matches before the rotated one (line %zu)", e.shadowed_by,
                 e.line);
    return 0;
}

const dbx_output_kind dbx_output_pgpass = {
    "pgpass", rewrite, "libpq's .pgpass: only this host:port:database:user entry is replaced",
};
