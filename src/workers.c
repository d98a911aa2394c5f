/* workers.c — forked rotation workers (see workers.h). The parent waits on
 * every worker's pipe with pselect (POSIX, unlike ppoll), the stop and
 * reload signals unblocked only inside it (as sys.c's sleep does), so a
 * signal can never slip in between "check the flags" and "wait". */
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/select.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys.h"
#include "timeutil.h"

int dbx_worker_spawn(dbx_worker *w, dbx_err *err)
{
    int p[2];
    pid_t pid;
    if (pipe(p) != 0)
        return dbx_err_set(err, DBX_EIO, "cannot create a pipe for a rotation worker: %s", strerror(errno));
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return dbx_err_set(err, DBX_EIO, "cannot start a rotation worker (fork): %s", strerror(errno));
    }
    if (pid == 0) {
        close(p[0]);
        w->pid = 0;
        w->fd = p[1];
        return 0;
    }
    close(p[1]);
    w->pid = pid;
    w->fd = p[0];
    return 0;
}

void dbx_worker_finish(dbx_worker *w, const char *result, size_t n, int status)
{
    while (n > 0) {
        ssize_t k = write(w->fd, result, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        result += k;
        n -= (size_t)k;
    }
    close(w->fd);
    _exit(status);
}

void dbx_worker_kill(const dbx_worker *w, int sig)
{
    if (w->pid > 0)
        kill(w->pid, sig);
}

/* Reaps a worker whose pipe closed (it has exited, or is about to). */
static int reap(pid_t pid)
{
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, 0);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

int dbx_worker_wait(dbx_worker *w, size_t n, dbx_buf *out, int *done, int *status, double timeout)
{
    sigset_t block, orig;
    struct timespec ts;
    fd_set rd;
    int finished = 0, maxfd = -1;
    FD_ZERO(&rd);
    for (size_t i = 0; i < n; i++) {
        if (done[i] || w[i].fd < 0 || w[i].fd >= FD_SETSIZE)
            continue;
        FD_SET(w[i].fd, &rd);
        if (w[i].fd > maxfd)
            maxfd = w[i].fd;
    }
    if (timeout < 0)
        timeout = 0;
    ts.tv_sec = (time_t)floor(timeout);
    ts.tv_nsec = (long)((timeout - floor(timeout)) * 1e9);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &orig);
    if (!dbx_stop_requested() && !dbx_hup_requested(0) && pselect(maxfd + 1, &rd, NULL, NULL, &ts, &orig) > 0) {
        for (size_t i = 0; i < n; i++) {
            char chunk[8192];
            ssize_t k;
            if (done[i] || w[i].fd < 0 || w[i].fd >= FD_SETSIZE || !FD_ISSET(w[i].fd, &rd))
                continue;
            k = read(w[i].fd, chunk, sizeof chunk);
            if (k > 0) {
                dbx_buf_append(&out[i], chunk, (size_t)k);
            } else if (k == 0 || errno != EINTR) {
                close(w[i].fd);
                w[i].fd = -1;
                status[i] = reap(w[i].pid);
                done[i] = 1;
                finished++;
            }
        }
    }
    sigprocmask(SIG_SETMASK, &orig, NULL);
    return finished;
}
