/* out_json.c — the `json` output kind: the whole file, one JSON object
 * {host, port, database, user, password, expires_at} for applications
 * that read their database credentials from a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outputs.h"

static int rewrite(const char *old, size_t n, int existed, const dbx_credential *c, dbx_buf *out,
                   dbx_output_edit *r, dbx_err *err)
{
    long port = strtol(c->port ? c->port : "5432", NULL, 10);
    if (dbx_buf_puts(out, "{\"host\":") || dbx_buf_json_string(out, c->host) ||
        dbx_buf_printf(out, ",\"port\":%ld,\"database\":", port) || dbx_buf_json_string(out, c->database) ||
        dbx_buf_puts(out, ",\"user\":") || dbx_buf_json_string(out, c->username) ||
        dbx_buf_puts(out, ",\"password\":") || dbx_buf_json_string(out, c->password) ||
        dbx_buf_printf(out, ",\"expires_at\":%.0f}\n", c->expires_at > 0 ? c->expires_at : 0))
        return dbx_err_set(err, DBX_EIO, "out of memory");
    r->changed = !existed || n != out->len || memcmp(old, out->data, n) != 0;
    snprintf(r->action, sizeof r->action, "%s", !existed ? "created" : r->changed ? "written" : "unchanged");
    return 0;
}

const dbx_output_kind dbx_output_json = {
    "json", rewrite, "a JSON object {host, port, database, user, password, expires_at} (whole file)",
};
