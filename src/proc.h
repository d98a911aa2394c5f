/* proc.h — runs a helper program (the Databricks CLI, a browser opener)
 * without a shell: argv only, PATH lookup, stdout and stderr captured with a
 * size cap, a deadline after which it is killed, an environment without our
 * secrets. Nothing the child prints is passed on unredacted. */
#ifndef DBX_PROC_H
#define DBX_PROC_H

#include "buf.h"
#include "err.h"

/* exit_status: the exit code, or 128+signal when killed by a signal.
 * Returns -1 (io error) when the program cannot be started — with
 * *not_found = 1 when it does not exist on PATH — or (timeout error) when
 * it ran past the deadline. out/errout may be NULL (discarded). */
int dbx_proc_run(const char *const argv[], double timeout, dbx_buf *out, dbx_buf *errout,
                 int *exit_status, int *not_found, dbx_err *err);

/* The same, with extra "NAME=value" variables (NULL-terminated, or NULL).
 * Every child gets childenv.h's environment: ours without any secret. */
int dbx_proc_run_env(const char *const argv[], const char *const *extra_env, double timeout, dbx_buf *out,
                     dbx_buf *errout, int *exit_status, int *not_found, dbx_err *err);

#endif
