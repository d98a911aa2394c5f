/* workers.h — short-lived child processes for the rotator daemon: each
 * rotation attempt of a target runs in a forked child, so a target whose
 * workspace hangs or retries cannot delay the others (DESIGN.md §8). The
 * child inherits everything (the Lua state, the clients and their tokens),
 * does one attempt, writes one result (a JSON text) into a pipe and exits;
 * the parent waits for any number of them at once, for its stop and reload
 * signals, or for a deadline. Only for the daemon, which owns its process
 * (a host application's run_daemon may disable workers). */
#ifndef DBX_WORKERS_H
#define DBX_WORKERS_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

typedef struct dbx_worker {
    pid_t pid;    /* 0 in the child */
    int fd;       /* parent: the read end; child: the write end */
} dbx_worker;

/* Forks. In the parent w->pid > 0; in the child w->pid == 0. 0, or -1 with
 * err (the child is not created). */
int dbx_worker_spawn(dbx_worker *w, dbx_err *err);

/* Child only: writes the result and ends the process (_exit: nothing of the
 * parent's is flushed or closed twice). Never returns. */
void dbx_worker_finish(dbx_worker *w, const char *result, size_t n, int status) __attribute__((noreturn));

/* Parent: waits until one of the n workers has finished, a stop or reload
 * signal arrived, or `timeout` seconds passed. Reads what the workers
 * wrote into out[i] (appending); sets done[i] = 1 for each worker whose
 * pipe closed and which was reaped (status[i]: exit code, or 128+signal).
 * Returns the number finished (0 on timeout or signal). */
int dbx_worker_wait(dbx_worker *w, size_t n, dbx_buf *out, int *done, int *status, double timeout);

/* Parent: signals a worker (SIGTERM to stop it, SIGKILL past its deadline). */
void dbx_worker_kill(const dbx_worker *w, int sig);

#endif
