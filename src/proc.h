/* proc.h — runs a helper program (the Databricks CLI, a browser opener, and
 * the rotator's --on-rotate hooks) without a shell of our making: argv only,
 * PATH lookup, stdout and stderr captured with a size cap, a deadline after
 * which it is killed. Nothing the child prints is passed on unredacted.
 *
 * Every child gets a scrubbed environment (trust rule of DESIGN.md §9,
 * trust defect #10): this process's environment minus
 *   - the variables that hold Databricks or related secrets by name
 *     (dbx_proc_secret_vars: DATABRICKS_TOKEN, DATABRICKS_CLIENT_SECRET,
 *     DATABRICKS_OIDC_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN, PGPASSWORD, ...),
 *   - the caller's further names (opts->drop, e.g. the variable an env_oidc
 *     config reads its token from),
 *   - any variable whose value contains a secret this process knows (the
 *     redactor's registry: a token handed in through an oddly named
 *     variable is caught too),
 * plus the caller's additions (opts->add, "NAME=value", replacing a variable
 * of the same name). There is no way to start a child with the unscrubbed
 * environment. */
#ifndef DBX_PROC_H
#define DBX_PROC_H

#include "buf.h"
#include "err.h"

/* The names always removed from a child's environment (NULL-terminated). */
extern const char *const dbx_proc_secret_vars[];

typedef struct dbx_proc_opts {
    const char *const *drop; /* further variable names to remove, or NULL */
    const char *const *add;  /* "NAME=value" entries to set, or NULL */
} dbx_proc_opts;

/* The environment a child gets (see above): a NULL-terminated array owned
 * by the caller (dbx_proc_env_free), or NULL with an io error. */
char **dbx_proc_child_env(const dbx_proc_opts *o, dbx_err *err);
void dbx_proc_env_free(char **env);

/* exit_status: the exit code, or 128+signal when killed by a signal.
 * Returns -1 (io error) when the program cannot be started — with
 * *not_found = 1 when it does not exist on PATH — or (timeout error) when
 * it ran past the deadline. out/errout may be NULL (discarded). o may be
 * NULL (the scrubbed environment, nothing added). */
int dbx_proc_run_ex(const char *const argv[], const dbx_proc_opts *o, double timeout, dbx_buf *out,
                    dbx_buf *errout, int *exit_status, int *not_found, dbx_err *err);
/* dbx_proc_run_ex with o = NULL. */
int dbx_proc_run(const char *const argv[], double timeout, dbx_buf *out, dbx_buf *errout,
                 int *exit_status, int *not_found, dbx_err *err);

#endif
