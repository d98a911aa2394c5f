/* childenv.c — child process environments without our secrets (see
 * childenv.h). */
#include "childenv.h"

#include <stdlib.h>
#include <string.h>

#include "redact.h"

extern char **environ;

static const char *const secret_names[] = {
    "DATABRICKS_CLIENT_SECRET", "DATABRICKS_TOKEN", "DATABRICKS_OIDC_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "PGPASSWORD",
    /* The SDKs' other secret-bearing variables: never ours to pass on. */
    "DATABRICKS_PASSWORD", "ARM_CLIENT_SECRET", "GOOGLE_CREDENTIALS", "DATABRICKS_GOOGLE_CREDENTIALS", NULL,
};

static int same_name(const char *a, const char *b)
{
    size_t n = strcspn(a, "=");
    return n == strcspn(b, "=") && strncmp(a, b, n) == 0;
}

int dbx_childenv_secret(const char *var)
{
    const char *eq = strchr(var, '=');
    for (size_t i = 0; secret_names[i]; i++)
        if (same_name(var, secret_names[i]))
            return 1;
    return eq && dbx_secret_contained(eq + 1);
}

static int replaced(const char *var, const char *const *extra)
{
    for (; extra && *extra; extra++)
        if (same_name(var, *extra))
            return 1;
    return 0;
}

int dbx_childenv_build(dbx_childenv *e, const char *const *extra)
{
    size_t n = 0, k = 0;
    size_t *offsets;
    memset(e, 0, sizeof *e);
    for (char **v = environ; v && *v; v++)
        n++;
    for (const char *const *x = extra; x && *x; x++)
        n++;
    if (!(offsets = malloc((n + 1) * sizeof *offsets)))
        return -1;
    /* Offsets first, pointers after: the text buffer may move as it grows. */
    for (char **v = environ; v && *v; v++) {
        if (dbx_childenv_secret(*v) || replaced(*v, extra))
            continue;
        offsets[k++] = e->text.len;
        if (dbx_buf_append(&e->text, *v, strlen(*v) + 1) != 0)
            goto oom;
    }
    for (const char *const *x = extra; x && *x; x++) {
        offsets[k++] = e->text.len;
        if (dbx_buf_append(&e->text, *x, strlen(*x) + 1) != 0)
            goto oom;
    }
    if (!(e->envp = malloc((k + 1) * sizeof *e->envp)))
        goto oom;
    for (size_t i = 0; i < k; i++)
        e->envp[i] = e->text.data + offsets[i];
    e->envp[k] = NULL;
    free(offsets);
    return 0;
oom:
    free(offsets);
    dbx_childenv_free(e);
    return -1;
}

void dbx_childenv_free(dbx_childenv *e)
{
    free(e->envp);
    dbx_buf_free(&e->text);
    memset(e, 0, sizeof *e);
}
