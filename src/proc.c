/* proc.c — helper programs via posix_spawnp (see proc.h), with an
 * environment without our secrets (childenv.h). posix_spawn keeps
 * this safe inside multi-threaded hosts (no fork of a big address space,
 * no async-signal-safety traps between fork and exec). */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "childenv.h"
#include "timeutil.h"

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
    return dbx_proc_run_env(argv, NULL, timeout, out, errout, exit_status, not_found, err);
}

int dbx_proc_run_env(const char *const argv[], const char *const *extra_env, double timeout, dbx_buf *out,
                     dbx_buf *errout, int *exit_status, int *not_found, dbx_err *err)
{
    dbx_childenv env;
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, rc, status = 0, timed_out = 0;
    posix_spawn_file_actions_t fa;
    pid_t pid;
    double deadline = dbx_monotonic() + timeout;
    struct pollfd fds[2];

    *not_found = 0;
    *exit_status = -1;
    if (pipe(po) != 0 || pipe(pe) != 0) {
        close_pair(po);
        close_pair(pe);
        return dbx_err_set(err, DBX_EIO, "cannot create pipes to run %s: %s", argv[0], strerror(errno));
    }
    fcntl(po[0], F_SETFD, FD_CLOEXEC);
    fcntl(pe[0], F_SETFD, FD_CLOEXEC);
    if (dbx_childenv_build(&env, extra_env) != 0) {
        close_pair(po);
        close_pair(pe);
        return dbx_err_set(err, DBX_EIO, "out of memory building the environment of %s", argv[0]);
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawn_file_actions_addclose(&fa, po[1]);
    posix_spawn_file_actions_addclose(&fa, pe[1]);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, env.envp);
    posix_spawn_file_actions_destroy(&fa);
    dbx_childenv_free(&env);
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
