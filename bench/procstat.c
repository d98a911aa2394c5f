/* procstat.c — process measurements for the benchmarks (bench/run.sh
 * compiles it into the run's temp folder).
 *
 *   procstat run [-e K=V]... [-n RUNS] [--stderr FILE] -- PROG ARGS...
 *       Runs PROG RUNS times (default 1) with exactly the given environment
 *       (nothing inherited), stdin and stdout on /dev/null, stderr appended
 *       to FILE (default /dev/null), and prints one line per run:
 *       "utime_s stime_s maxrss_kib exit_status wall_s".
 *       The figures come from wait4(), so they cover that one process (and
 *       what it exec'd into), not this wrapper, at microsecond resolution.
 *
 *   procstat daemon [-e K=V]... --log FILE --wait-for TEXT [--count N]
 *                   [--timeout S] [--settle S] [--idle S] [--grace S] -- PROG ARGS...
 *       Starts PROG (stdout and stderr appended to FILE), waits until FILE
 *       contains TEXT (the first rotation; N times with --count, default 1),
 *       lets it settle, reads
 *       /proc/PID/smaps_rollup and the context-switch counters of all its
 *       threads, waits S idle seconds, reads the counters again, sends
 *       SIGTERM and times how long the process takes to exit. Prints
 *       "key=value" lines. Exit status 0 when every step happened, 1 when
 *       one did not (the process is killed and reaped in every case).
 *
 * Only ever signals the one process it started, by PID. Linux only (/proc). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENV 64

static char *envv[MAX_ENV + 1];
static int envc;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: procstat run [-e K=V]... [-n RUNS] [--stderr FILE] -- PROG ARGS...\n"
                    "       procstat daemon [-e K=V]... --log FILE --wait-for TEXT [--count N] [--timeout S] [--settle S]\n"
                    "                       [--idle S] [--grace S] -- PROG ARGS...\n");
    exit(2);
}

/* The child side of fork: fds, environment, exec. Never returns. */
/* stdout goes to out_path (or /dev/null); stderr to err_path (or
 * /dev/null), which may be the same file. */
static void exec_child(char **argv, const char *out_path, const char *err_path)
{
    int in = open("/dev/null", O_RDONLY);
    int out = out_path ? open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0600) : open("/dev/null", O_WRONLY);
    int errfd = err_path ? open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0600) : open("/dev/null", O_WRONLY);
    if (in < 0 || out < 0 || errfd < 0) {
        perror("procstat: open");
        _exit(127);
    }
    dup2(in, 0);
    dup2(out, 1);
    dup2(errfd, 2);
    close(in);
    close(out);
    close(errfd);
    execvpe(argv[0], argv, envv);
    fprintf(stderr, "procstat: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static int cmd_run(int runs, const char *err_path, char **argv)
{
    for (int i = 0; i < runs; i++) {
        struct rusage ru;
        int status;
        double t0 = mono(), wall;
        pid_t pid = fork();
        if (pid < 0) {
            perror("procstat: fork");
            return 1;
        }
        if (pid == 0)
            exec_child(argv, NULL, err_path);
        if (wait4(pid, &status, 0, &ru) != pid) {
            perror("procstat: wait4");
            return 1;
        }
        wall = mono() - t0;
        printf("%.6f %.6f %ld %d %.6f\n", (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss,
               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), wall);
        fflush(stdout);
    }
    return 0;
}

/* Whether the first MiB of path holds text at least count times. */
static int file_contains(const char *path, const char *text, int count)
{
    static char buf[1 << 20];
    FILE *f = fopen(path, "rb");
    const char *p;
    size_t n;
    int seen = 0;
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (p = strstr(buf, text); p && seen < count; p = strstr(p + 1, text))
        seen++;
    return seen >= count;
}

/* A "Name:   123 kB" field of a /proc file, or -1. */
static long proc_field(const char *path, const char *name)
{
    char line[512];
    size_t n = strlen(name);
    long v = -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Context switches summed over every thread of pid; -1 when it is gone. */
static long ctx_switches(pid_t pid, long *voluntary, int *threads)
{
    char path[128];
    struct dirent *d;
    long vol = 0, invol = 0;
    DIR *dir;
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    if (!(dir = opendir(path)))
        return -1;
    *threads = 0;
    while ((d = readdir(dir))) {
        char st[300];
        long v, iv;
        if (d->d_name[0] == '.')
            continue;
        snprintf(st, sizeof st, "/proc/%d/task/%s/status", (int)pid, d->d_name);
        v = proc_field(st, "voluntary_ctxt_switches");
        iv = proc_field(st, "nonvoluntary_ctxt_switches");
        if (v >= 0)
            vol += v;
        if (iv >= 0)
            invol += iv;
        (*threads)++;
    }
    closedir(dir);
    *voluntary = vol;
    return vol + invol;
}

/* Reaps pid; gives up after `grace` seconds (then SIGKILL). Returns the
 * seconds it took, or -1 after a kill. */
static double reap(pid_t pid, double grace, int *status)
{
    double t0 = mono();
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return mono() - t0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (mono() - t0 > grace) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            return -1;
        }
        nap(0.0002);
    }
}

static int cmd_daemon(char **argv, const char *log, const char *text, int count, double timeout, double settle,
                      double idle, double grace)
{
    char path[128];
    long total0, total1, vol0 = 0, vol1 = 0;
    int threads0 = 0, threads1 = 0, status = 0, ok = 1;
    double t0, took, lat;
    pid_t pid = fork();
    if (pid < 0) {
        perror("procstat: fork");
        return 1;
    }
    if (pid == 0)
        exec_child(argv, log, log);
    printf("pid=%d\n", (int)pid);
    t0 = mono();
    while (!file_contains(log, text, count)) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            printf("error=exited before '%s' appeared in the log (status %d)\n", text,
                   WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
            return 1;
        }
        if (mono() - t0 > timeout) {
            printf("error=no '%s' in the log within %.0f s\n", text, timeout);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return 1;
        }
        nap(0.005);
    }
    printf("first_rotation_s=%.3f\n", mono() - t0);
    nap(settle);
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    printf("private_dirty_kib=%ld\n", proc_field(path, "Private_Dirty"));
    printf("private_clean_kib=%ld\n", proc_field(path, "Private_Clean"));
    printf("rss_kib=%ld\n", proc_field(path, "Rss"));
    printf("pss_kib=%ld\n", proc_field(path, "Pss"));
    total0 = ctx_switches(pid, &vol0, &threads0);
    t0 = mono();
    nap(idle);
    took = mono() - t0;
    total1 = ctx_switches(pid, &vol1, &threads1);
    if (total0 < 0 || total1 < 0) {
        printf("error=the process went away while idle\n");
        ok = 0;
    } else {
        printf("threads=%d\n", threads1);
        printf("idle_s=%.3f\n", took);
        printf("idle_voluntary_switches=%ld\n", vol1 - vol0);
        printf("idle_switches=%ld\n", total1 - total0);
    }
    kill(pid, SIGTERM);
    lat = reap(pid, grace, &status);
    if (lat < 0) {
        printf("error=still running %.0f s after SIGTERM (killed)\n", grace);
        return 1;
    }
    printf("term_latency_ms=%.3f\n", lat * 1000);
    printf("exit_status=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *mode, *log = NULL, *text = NULL, *err_path = NULL;
    double timeout = 30, settle = 0.5, idle = 3, grace = 10;
    int runs = 1, count = 1, i;
    if (argc < 2)
        usage();
    mode = argv[1];
    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc)
            usage();
        if (strcmp(a, "-e") == 0) {
            if (envc == MAX_ENV)
                usage();
            envv[envc++] = argv[++i];
        } else if (strcmp(a, "-n") == 0) {
            runs = atoi(argv[++i]);
        } else if (strcmp(a, "--stderr") == 0) {
            err_path = argv[++i];
        } else if (strcmp(a, "--log") == 0) {
            log = argv[++i];
        } else if (strcmp(a, "--wait-for") == 0) {
            text = argv[++i];
        } else if (strcmp(a, "--count") == 0) {
            count = atoi(argv[++i]);
        } else if (strcmp(a, "--timeout") == 0) {
            timeout = atof(argv[++i]);
        } else if (strcmp(a, "--settle") == 0) {
            settle = atof(argv[++i]);
        } else if (strcmp(a, "--idle") == 0) {
            idle = atof(argv[++i]);
        } else if (strcmp(a, "--grace") == 0) {
            grace = atof(argv[++i]);
        } else {
            usage();
        }
    }
    envv[envc] = NULL;
    if (i >= argc)
        usage();
    if (strcmp(mode, "run") == 0)
        return cmd_run(runs, err_path, argv + i);
    if (strcmp(mode, "daemon") == 0 && log && text)
        return cmd_daemon(argv + i, log, text, count, timeout, settle, idle, grace);
    usage();
    return 2;
}
