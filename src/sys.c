/* sys.c — stop signals, interruptible sleep and sd_notify (see sys.h).
 *
 * The sleep uses pselect with SIGTERM/SIGINT blocked outside it, so a signal
 * that arrives between "check the flag" and "start sleeping" still wakes the
 * sleep: the classic lost-wake-up race cannot happen. sd_notify speaks the
 * datagram protocol directly (no libsystemd, no subprocess). */
#include "sys.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "timeutil.h"

#include <sys/resource.h>

#if defined(__linux__)
#include <sys/prctl.h>
#include <sys/timerfd.h>
#endif

static volatile sig_atomic_t stop_signal = 0;
static volatile sig_atomic_t hup_signal = 0;
static volatile sig_atomic_t handlers_installed = 0;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

static void on_hup(int sig)
{
    hup_signal = sig;
}

int dbx_sys_install_signals(dbx_err *err)
{
    struct sigaction sa;
    if (handlers_installed)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return dbx_err_set(err, DBX_EIO, "cannot install SIGTERM/SIGINT handlers: %s", strerror(errno));
    sa.sa_handler = on_hup;
    if (sigaction(SIGHUP, &sa, NULL) != 0)
        return dbx_err_set(err, DBX_EIO, "cannot install the SIGHUP handler: %s", strerror(errno));
    /* A reader of our stderr going away must not kill the daemon right
     * after it wrote a credential: writes then fail with EPIPE instead. */
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return dbx_err_set(err, DBX_EIO, "cannot ignore SIGPIPE: %s", strerror(errno));
    handlers_installed = 1;
    return 0;
}

int dbx_hup_requested(int clear)
{
    int sig = hup_signal;
    if (clear)
        hup_signal = 0;
    return sig;
}

int dbx_sys_harden(dbx_err *err)
{
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return dbx_err_set(err, DBX_EIO, "cannot disable core dumps: %s", strerror(errno));
#if defined(__linux__)
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return dbx_err_set(err, DBX_EIO, "cannot make the process non-dumpable: %s", strerror(errno));
#endif
    return 0;
}

int dbx_stop_requested(void)
{
    return stop_signal;
}

void dbx_request_stop(int sig)
{
    stop_signal = sig;
}

int dbx_sleep(double seconds)
{
    sigset_t block, orig;
    double deadline = dbx_monotonic() + (seconds > 0 ? seconds : 0);
    int stopped;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &orig);
    for (;;) {
        double left = deadline - dbx_monotonic();
        struct timespec ts;
        if ((stopped = stop_signal != 0) || hup_signal || left <= 0)
            break;
        ts.tv_sec = (time_t)floor(left);
        ts.tv_nsec = (long)((left - floor(left)) * 1e9);
        /* Atomically unblocks the stop signals for the duration of the wait. */
        if (pselect(0, NULL, NULL, NULL, &ts, &orig) < 0 && errno != EINTR)
            break;
    }
    sigprocmask(SIG_SETMASK, &orig, NULL);
    return stopped;
}

int dbx_sleep_until(double deadline, double max_slice)
{
    double left = deadline - dbx_now();
    if (left > max_slice)
        left = max_slice;
#if defined(__linux__)
    {
        int fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
        if (fd >= 0) {
            struct itimerspec its;
            sigset_t block, orig;
            fd_set rd;
            struct timespec ts;
            int stopped;
            memset(&its, 0, sizeof its);
            its.it_value.tv_sec = (time_t)floor(deadline);
            its.it_value.tv_nsec = (long)((deadline - floor(deadline)) * 1e9);
            if (left <= 0 || timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) != 0) {
                close(fd);
                return left <= 0 ? dbx_stop_requested() != 0 : dbx_sleep(left);
            }
            sigemptyset(&block);
            sigaddset(&block, SIGTERM);
            sigaddset(&block, SIGINT);
            sigaddset(&block, SIGHUP);
            sigprocmask(SIG_BLOCK, &block, &orig);
            if (!(stopped = stop_signal != 0) && !hup_signal) {
                FD_ZERO(&rd);
                FD_SET(fd, &rd);
                ts.tv_sec = (time_t)floor(left);
                ts.tv_nsec = (long)((left - floor(left)) * 1e9);
                /* Wakes on: the deadline, a clock jump (read fails with
                 * ECANCELED, which is just another reason to re-check), the
                 * slice, or a stop signal. */
                (void)pselect(fd + 1, &rd, NULL, NULL, &ts, &orig);
                stopped = stop_signal != 0;
            }
            sigprocmask(SIG_SETMASK, &orig, NULL);
            close(fd);
            return stopped;
        }
    }
#endif
    return left <= 0 ? dbx_stop_requested() != 0 : dbx_sleep(left);
}

int dbx_sd_notify(const char *state, dbx_err *err)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    size_t n;
    socklen_t len;
    int fd, rc;
    if (!path || !*path)
        return 0;
    n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof sa.sun_path)
        return dbx_err_set(err, DBX_EIO, "NOTIFY_SOCKET is not a socket path (\"%.100s\")", path);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace */
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return dbx_err_set(err, DBX_EIO, "sd_notify: socket: %s", strerror(errno));
    rc = (int)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    close(fd);
    if (rc < 0)
        return dbx_err_set(err, DBX_EIO, "sd_notify to %.100s: %s", path, strerror(errno));
    return 1;
}

long long dbx_watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end;
    long long v;
    if (!usec)
        return 0;
    if (pid && strtol(pid, NULL, 10) != (long)getpid())
        return 0;
    v = strtoll(usec, &end, 10);
    return *end || v <= 0 ? 0 : v;
}
