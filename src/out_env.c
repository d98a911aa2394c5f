/* out_env.c — the `env` output kind: the whole file, one shell-quoted
 * assignment per libpq variable (PGHOST PGPORT PGDATABASE PGUSER
 * PGPASSWORD PGSSLMODE=require), for `. file` in a shell script or a
 * systemd EnvironmentFile=. */
#include <stdio.h>
#include <string.h>

#include "outputs.h"

/* 'value' with every ' written as '\'' (POSIX shell single quotes; systemd
 * reads the same quoting in an EnvironmentFile). */
static int quote(dbx_buf *out, const char *s)
{
    if (dbx_buf_append(out, "'", 1) != 0)
        return -1;
    for (; *s; s++)
        if ((*s == '\'' ? dbx_buf_puts(out, "'\\''") : dbx_buf_append(out, s, 1)) != 0)
            return -1;
    return dbx_buf_append(out, "'", 1);
}

static int rewrite(const char *old, size_t n, int existed, const dbx_credential *c, dbx_buf *out,
                   dbx_output_edit *r, dbx_err *err)
{
    const char *names[] = {"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSSLMODE"};
    const char *values[] = {c->host, c->port, c->database, c->username, c->password, "require"};
    for (size_t i = 0; i < 6; i++) {
        if (!values[i] || strpbrk(values[i], "\r\n"))
            return dbx_err_set(err, DBX_ECONFIG, "%s for the env output must be one line", names[i]);
        if (dbx_buf_puts(out, names[i]) != 0 || dbx_buf_append(out, "=", 1) != 0 || quote(out, values[i]) != 0 ||
            dbx_buf_append(out, "\n", 1) != 0)
            return dbx_err_set(err, DBX_EIO, "out of memory");
    }
    r->changed = !existed || n != out->len || memcmp(old, out->data, n) != 0;
    snprintf(r->action, sizeof r->action, "%s", !existed ? "created" : r->changed ? "written" : "unchanged");
    return 0;
}

const dbx_output_kind dbx_output_env = {
    "env", rewrite, "a shell/EnvironmentFile with PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD PGSSLMODE (whole file)",
};
