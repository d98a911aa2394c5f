/* outputs.c — the output kinds' table and the one way every kind is
 * written (see outputs.h). */
#include "outputs.h"

#include <string.h>

#include "pgpass.h"

static const dbx_output_kind *const kinds[] = {
    &dbx_output_pgpass,
    &dbx_output_pgbouncer,
    &dbx_output_env,
    &dbx_output_json,
    NULL,
};

const dbx_output_kind *const *dbx_output_kinds(void)
{
    return kinds;
}

const dbx_output_kind *dbx_output_find(const char *name)
{
    for (size_t i = 0; kinds[i]; i++)
        if (name && strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

typedef struct write_ctx {
    const dbx_output_kind *kind;
    const dbx_credential *cred;
    dbx_output_edit *edit;
} write_ctx;

static int edit(void *p, const char *old, size_t n, int existed, dbx_buf *out, dbx_err *err)
{
    write_ctx *w = p;
    if (w->kind->rewrite(old, n, existed, w->cred, out, w->edit, err) != 0)
        return -1;
    return w->edit->changed ? DBX_AF_WRITE : DBX_AF_KEEP;
}

int dbx_output_write(const dbx_output_kind *k, const char *path, const dbx_credential *c, double lock_timeout,
                     dbx_output_result *r, dbx_err *err)
{
    dbx_af_opts o = {0};
    dbx_buf def = {0};
    write_ctx w = {k, c, &r->edit};
    int rc;
    if (!path || !*path) {
        if (k != &dbx_output_pgpass)
            return dbx_err_set(err, DBX_ECONFIG, "the %s output needs a path (--output %s:PATH)", k->name, k->name);
        if (dbx_pgpass_default_path(&def, err) != 0)
            return -1;
        path = dbx_buf_str(&def);
    }
    o.lock_timeout = lock_timeout;
    o.fix_mode = 1;
    rc = dbx_af_update(path, &o, edit, &w, &r->file, err);
    if (rc != 0 && !strstr(err->message, path))
        dbx_err_context(err, "%s output %s", k->name, path);
    dbx_buf_free(&def);
    return rc;
}
