/* sys.h — process-level services for the daemon: stop signals, an
 * interruptible sleep, and systemd's readiness/watchdog notifications.
 *
 * The stop flag is the one piece of process-wide mutable state besides
 * libcurl's init: a signal handler can only talk to the rest of the process
 * through a sig_atomic_t. Everything that waits (retry back-off, transfers,
 * the scheduler's sleep) checks it, so SIGTERM ends any wait at once. */
#ifndef DBX_SYS_H
#define DBX_SYS_H

#include "err.h"

/* Installs SIGTERM/SIGINT handlers that set the stop flag and a SIGHUP
 * handler that sets the reload flag (no SA_RESTART), and ignores SIGPIPE.
 * For the daemon only (the library never changes a host application's
 * signal dispositions on its own). Idempotent. 0 or -1. */
int dbx_sys_install_signals(dbx_err *err);
/* The SIGHUP that asked for a reload (and clears it when `clear`), or 0.
 * A SIGHUP also ends dbx_sleep / dbx_sleep_until early. */
int dbx_hup_requested(int clear);
/* Our own programs hold secrets in memory: no core dumps (RLIMIT_CORE 0,
 * and on Linux not dumpable, which also keeps other processes of the user
 * from ptrace-attaching). For the command-line programs and the daemon,
 * never called by the library for a host application. 0 or -1. */
int dbx_sys_harden(dbx_err *err);
/* The signal that requested a stop (SIGTERM, SIGINT), or 0. */
int dbx_stop_requested(void);
/* Sets (sig > 0) or clears (0) the stop flag from normal code (stop()). */
void dbx_request_stop(int sig);

/* Sleeps up to `seconds` (monotonic). Returns 1 when a stop was requested
 * (before or during the sleep; no lost wake-up), else 0. */
int dbx_sleep(double seconds);

/* Sleeps until the wall clock reaches `deadline` (epoch seconds), or at most
 * `max_slice` seconds, or a stop is requested (returns 1). On Linux a
 * CLOCK_REALTIME timerfd with TFD_TIMER_CANCEL_ON_SET also ends the sleep at
 * once when the wall clock jumps (settimeofday, NTP step) and fires on time
 * across a suspend; elsewhere the slice bounds how late a jump is noticed.
 * The caller re-reads the clock after every return. */
int dbx_sleep_until(double deadline, double max_slice);

/* Sends one sd_notify datagram ("READY=1", "WATCHDOG=1", "STATUS=...") to
 * $NOTIFY_SOCKET (path or abstract "@name"). Returns 1 when sent, 0 when
 * there is no socket to notify (not under systemd), -1 on error. */
int dbx_sd_notify(const char *state, dbx_err *err);

/* Microseconds from $WATCHDOG_USEC when it is meant for this process
 * ($WATCHDOG_PID unset or ours), else 0. */
long long dbx_watchdog_usec(void);

#endif
