/* proc.c — helper programs via posix_spawnp (see proc.h). posix_spawn keeps
 * this safe inside multi-threaded hosts (no fork of a big address space,
 * no async-signal-safety traps between fork and exec). */
#include "proc.h"

#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redact.h"
#include "timeutil.h"

extern char **environ;

const char *const dbx_proc_secret_vars[] = {
    "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET", "DATABRICKS_PASSWORD", "DATABRICKS_OIDC_TOKEN",
    "DATABRICKS_GOOGLE_CREDENTIALS", "GOOGLE_CREDENTIALS", "ARM_CLIENT_SECRET", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "PGPASSWORD", NULL,
};

/* Is entry ("NAME=value") the variable `name`? */
static int names(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static int in_list(const char *entry, const char *const *list)
{
    for (; list && *list; list++)
        if (names(entry, *list))
            return 1;
    return 0;
}

/* Is entry replaced by one of `add` (same name)? */
static int overridden(const char *entry, const char *const *add)
{
    for (; add && *add; add++) {
        size_t n = strcspn(*add, "=");
        if (strncmp(entry, *add, n) == 0 && entry[n] == '=')
            return 1;
    }
    return 0;
}

void dbx_proc_env_free(char **env)
{
    if (!env)
        return;
    for (char **e = env; *e; e++) {
        dbx_wipe(*e, strlen(*e));
        free(*e);
    }
    free(env);
}

char **dbx_proc_child_env(const dbx_proc_opts *o, dbx_err *err)
{
    const char *const *drop = o ? o->drop : NULL, *const *add = o ? o->add : NULL;
    size_t n = 0, k = 0;
    char **env;
    for (char **e = environ; e && *e; e++)
        n++;
    for (const char *const *a = add; a && *a; a++)
        n++;
    if (!(env = calloc(n + 1, sizeof *env)))
        goto oom;
    for (char **e = environ; e && *e; e++) {
        const char *v = strchr(*e, '=');
        if (!v || in_list(*e, dbx_proc_secret_vars) || in_list(*e, drop) || overridden(*e, add) ||
            dbx_secret_in(v + 1))
            continue;
        if (!(env[k++] = strdup(*e)))
            goto oom;
    }
    for (const char *const *a = add; a && *a; a++)
        if (strchr(*a, '=') && !(env[k++] = strdup(*a)))
            goto oom;
    return env;
oom:
    dbx_proc_env_free(env);
    dbx_err_set(err, DBX_EIO, "out of memory preparing a child process's environment");
    return NULL;
}

#define CAPTURE_LIMIT (1 << 20)

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    p[0] = p[1] = -1;
}

/* Reads what is available; returns 0 on EOF, 1 when more may come. */
static int drain(int fd, dbx_buf *b)
{
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n > 0) {
        if (b && b->len + (size_t)n <= CAPTURE_LIMIT)
            dbx_buf_append(b, chunk, (size_t)n);
        return 1;
    }
    return n < 0 && (errno == EINTR || errno == EAGAIN) ? 1 : 0;
}

int dbx_proc_run(const char *const argv[], double timeout, dbx_buf *out, dbx_buf *errout,
                 int *exit_status, int *not_found, dbx_err *err)
{
    return dbx_proc_run_ex(argv, NULL, timeout, out, errout, exit_status, not_found, err);
}

int dbx_proc_run_ex(const char *const argv[], const dbx_proc_opts *o, double timeout, dbx_buf *out,
                    dbx_buf *errout, int *exit_status, int *not_found, dbx_err *err)
{
    char **env;
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, rc, status = 0, timed_out = 0;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    double deadline = dbx_monotonic() + timeout;
    struct pollfd fds[2];

    *not_found = 0;
    *exit_status = -1;
    if (!(env = dbx_proc_child_env(o, err)))
        return -1;
    if (pipe(po) != 0 || pipe(pe) != 0) {
        close_pair(po);
        close_pair(pe);
        dbx_proc_env_free(env);
        return dbx_err_set(err, DBX_EIO, "cannot create pipes to run %s: %s", argv[0], strerror(errno));
    }
    fcntl(po[0], F_SETFD, FD_CLOEXEC);
    fcntl(pe[0], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawn_file_actions_addclose(&fa, po[1]);
    posix_spawn_file_actions_addclose(&fa, pe[1]);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, env);
    posix_spawn_file_actions_destroy(&fa);
    dbx_proc_env_free(env);
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;
    if (rc != 0) {
        close_pair(po);
        close_pair(pe);
        *not_found = rc == ENOENT;
        return dbx_err_set(err, DBX_EIO, "cannot run %s: %s", argv[0], strerror(rc));
    }

    fds[0].fd = po[0];
    fds[1].fd = pe[0];
    fds[0].events = fds[1].events = POLLIN;
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        double left = deadline - dbx_monotonic();
        if (left <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(fds, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                !drain(fds[i].fd, i == 0 ? out : errout)) {
                close(fds[i].fd);
                fds[i].fd = -1;
            }
        }
    }
    if (fds[0].fd >= 0)
        close(fds[0].fd);
    if (fds[1].fd >= 0)
        close(fds[1].fd);
    /* The pipes are closed: the child has exited or is about to. A child
     * that closed its output but keeps running is killed at the deadline. */
    for (;;) {
        pid_t w = waitpid(pid, &status, timed_out ? 0 : WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if (w == 0) {
            if (dbx_monotonic() >= deadline) {
                timed_out = 1;
                kill(pid, SIGKILL);
            } else {
                poll(NULL, 0, 10);
            }
        }
    }
    if (timed_out)
        return dbx_err_set(err, DBX_ETIMEOUT, "%s did not finish within %.0f s", argv[0], timeout);
    *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return 0;
}
