/* test_pgpass.c — C-level tests of pgpass.c and atomicfile.c that need
 * fork, umask or exact parser results (run by spec/pgpass_spec.lua).
 * Prints one line per failed check and "N checks, N failed"; exits 1 when
 * any check failed. Works in a fresh folder under $TMPDIR. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "pgpass.h"

static int checks, failed;

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(c)) {                                                                                \
            failed++;                                                                              \
            printf("FAIL %s:%d: %s\n", __func__, __LINE__, #c);                                    \
        }                                                                                          \
    } while (0)

static char dir[4096];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    fputs(s, f);
    fclose(f);
    chmod(path, 0600);
}

static char *read_text(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "rb");
    size_t n;
    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Counts temp files of base in dir; mode of the last one in *mode. */
static int count_temps(const char *base, mode_t *mode)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        char p[8192];
        struct stat st;
        if (!dbx_af_is_temp_name(base, de->d_name))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (stat(p, &st) == 0 && mode)
            *mode = st.st_mode & 07777;
        n++;
    }
    closedir(d);
    return n;
}

static int append_x(void *ctx, const char *old, size_t n, int existed, dbx_buf *out, dbx_err *e)
{
    (void)ctx;
    (void)existed;
    (void)e;
    dbx_buf_append(out, old, n);
    dbx_buf_puts(out, "x\n");
    return DBX_AF_WRITE;
}

static void test_temp_names(void)
{
    CHECK(dbx_af_is_temp_name(".pgpass", ".pgpass.tmp.12.0"));
    CHECK(dbx_af_is_temp_name(".pgpass", ".pgpass.tmp.4194304.17"));
    CHECK(!dbx_af_is_temp_name(".pgpass", ".pgpass.tmp.12."));
    CHECK(!dbx_af_is_temp_name(".pgpass", ".pgpass.tmp.x.0"));
    CHECK(!dbx_af_is_temp_name(".pgpass", ".pgpassx.tmp.1.1"));
    CHECK(!dbx_af_is_temp_name(".pgpass", ".pgpass.tmp.1.1.bak"));
    CHECK(!dbx_af_is_temp_name(".pgpass", ".pgpass.lock"));
    CHECK(!dbx_af_is_temp_name(".pgpass", "other.tmp.1.1"));
}

/* The temp file is exactly 0600 even with umask 0. */
static void test_temp_mode(void)
{
    char path[8192];
    dbx_buf name = {0};
    dbx_err e;
    struct stat st;
    mode_t old = umask(0);
    int fd;
    snprintf(path, sizeof path, "%s/umask0", dir);
    fd = dbx_af_temp_open(path, &name, &e);
    CHECK(fd >= 0);
    CHECK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0600);
    close(fd);
    unlink(dbx_buf_str(&name));
    CHECK(dbx_af_write(path, "a\n", 2, &e) == 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
    umask(old);
    dbx_buf_free(&name);
}

/* A writer killed between creating its temp file and the rename leaves a
 * 0600 temp file; the next update removes it and works. */
static void test_crash_leftover(void)
{
    char path[8192];
    dbx_af_state st = {0};
    dbx_err e;
    mode_t mode = 0;
    pid_t pid;
    int status;
    snprintf(path, sizeof path, "%s/crash", dir);
    write_text(path, "before\n");
    pid = fork();
    if (pid == 0) {
        dbx_af_lock lk;
        dbx_buf name = {0};
        int fd;
        umask(0);
        if (dbx_af_lock_acquire(&lk, path, 5, &e) != 0)
            _exit(2);
        fd = dbx_af_temp_open(path, &name, &e);
        if (fd < 0 || write(fd, "partial", 7) != 7)
            _exit(3);
        kill(getpid(), SIGKILL);
        _exit(4);
    }
    CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
    CHECK(count_temps("crash", &mode) == 1);
    CHECK(mode == 0600);
    CHECK(strcmp(read_text(path), "before\n") == 0);
    CHECK(dbx_af_update(path, NULL, append_x, NULL, &st, &e) == 0);
    CHECK(st.stale_removed == 1);
    CHECK(count_temps("crash", NULL) == 0);
    CHECK(strcmp(read_text(path), "before\nx\n") == 0);
    dbx_af_state_free(&st);
}

/* While another process holds the lock: a bounded wait, a timeout error
 * naming the lock file, the file and the holder's temp file untouched. */
static void test_lock_held(void)
{
    char path[8192];
    dbx_af_opts o = {0};
    dbx_af_state st = {0};
    dbx_err e;
    int ready[2], release[2], status;
    char c;
    double t0, dt;
    pid_t pid;
    o.lock_timeout = 0.3;
    snprintf(path, sizeof path, "%s/held", dir);
    write_text(path, "before\n");
    CHECK(pipe(ready) == 0 && pipe(release) == 0);
    pid = fork();
    if (pid == 0) {
        dbx_af_lock lk;
        dbx_buf name = {0};
        close(ready[0]);
        close(release[1]);
        if (dbx_af_lock_acquire(&lk, path, 5, &e) != 0 || dbx_af_temp_open(path, &name, &e) < 0)
            _exit(2);
        if (write(ready[1], "r", 1) != 1)
            _exit(3);
        while (read(release[0], &c, 1) < 0 && errno == EINTR)
            ;
        unlink(dbx_buf_str(&name));
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    CHECK(read(ready[0], &c, 1) == 1);
    t0 = now();
    CHECK(dbx_af_update(path, &o, append_x, NULL, &st, &e) == -1);
    dt = now() - t0;
    CHECK(e.kind == DBX_ETIMEOUT);
    CHECK(strstr(e.message, "waiting for the lock on ") != NULL); /* the folder is the lock */
    CHECK(dt >= 0.29 && dt < 2.0);
    CHECK(count_temps("held", NULL) == 1); /* the live writer's temp file stays */
    CHECK(strcmp(read_text(path), "before\n") == 0);
    dbx_af_state_free(&st);
    memset(&st, 0, sizeof st);
    close(release[1]);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(dbx_af_update(path, &o, append_x, NULL, &st, &e) == 0);
    CHECK(strcmp(read_text(path), "before\nx\n") == 0);
    dbx_af_state_free(&st);
    close(ready[0]);
}

/* A FIFO target is refused at once (never opened for reading). */
static void test_fifo(void)
{
    char path[8192];
    dbx_af_state st = {0};
    dbx_err e;
    double t0;
    snprintf(path, sizeof path, "%s/fifo", dir);
    CHECK(mkfifo(path, 0600) == 0);
    t0 = now();
    CHECK(dbx_af_update(path, NULL, append_x, NULL, &st, &e) == -1);
    CHECK(now() - t0 < 1.0);
    CHECK(e.kind == DBX_ECONFIG && strstr(e.message, "FIFO") != NULL);
    dbx_af_state_free(&st);
}

/* Lines as libpq's passwordFromFile/pwdfMatchesString read them. */
static void check_line(const char *s, size_t n, dbx_pgpass_line_kind kind, const char *password)
{
    dbx_pgpass_line l;
    size_t used = dbx_pgpass_parse_line(s, n, &l);
    dbx_buf pw = {0};
    CHECK(used > 0 && used <= n);
    if (l.kind != kind) {
        printf("FAIL line %.*s: kind %d, want %d\n", (int)n, s, l.kind, kind);
        failed++;
    }
    if (password && l.kind == DBX_PGPASS_ENTRY) {
        dbx_pgpass_unescape(&pw, l.password.raw, l.password.len);
        if (strcmp(dbx_buf_str(&pw), password) != 0) {
            printf("FAIL line %.*s: password %s, want %s\n", (int)n, s, dbx_buf_str(&pw), password);
            failed++;
        }
    }
    checks++;
    dbx_buf_free(&pw);
}

#define LINE(lit, kind, pw) check_line(lit, sizeof lit - 1, kind, pw)

static void test_parse(void)
{
    dbx_pgpass_line l;
    LINE("#h:5432:d:u:pw\n", DBX_PGPASS_COMMENT, NULL);
    LINE(" #h:5432:d:u:pw\n", DBX_PGPASS_ENTRY, "pw");
    LINE("\r\n", DBX_PGPASS_BLANK, NULL);
    LINE("h:5432:d:u\n", DBX_PGPASS_INVALID, NULL);
    LINE("h:5432:d:u:\n", DBX_PGPASS_ENTRY, "");
    LINE("h:5432:d:u:pw:extra\n", DBX_PGPASS_ENTRY, "pw");
    LINE("h:5432:d:u:a\\:b\\\\c\\\n", DBX_PGPASS_ENTRY, "a:b\\c\\");
    LINE("h:5432:d:u:pw\r\r\n", DBX_PGPASS_ENTRY, "pw");
    LINE("h:5432:d:u\\:x\n", DBX_PGPASS_INVALID, NULL);
    LINE("h:5432:d:u\\", DBX_PGPASS_INVALID, NULL);
    LINE("h:54\0" "32:d:u:pw\n", DBX_PGPASS_INVALID, NULL);
    LINE("h:5432:d:u:p\xff\xfe", DBX_PGPASS_ENTRY, "p\xff\xfe");

    dbx_pgpass_parse_line("*:*:*:*:pw\r\r\n", 13, &l);
    CHECK(l.kind == DBX_PGPASS_ENTRY && l.key[0].wild && l.key[3].wild && l.end_len == 3);
    dbx_pgpass_parse_line("\\*:5432:d:u:pw", 14, &l);
    CHECK(!l.key[0].wild && dbx_pgpass_field_equals(&l.key[0], "*", 1));
    dbx_pgpass_parse_line("**:5432:d:u:pw", 14, &l);
    CHECK(!l.key[0].wild && dbx_pgpass_field_equals(&l.key[0], "**", 2));
    dbx_pgpass_parse_line("h\\:x:5432:d:u:pw", 16, &l);
    CHECK(dbx_pgpass_field_equals(&l.key[0], "h:x", 3) && l.end_len == 0);
    dbx_pgpass_parse_line("h\\ost:5432:d:u:pw", 17, &l);
    CHECK(dbx_pgpass_field_equals(&l.key[0], "host", 4));
}

static void check_escape(const char *in, const char *want)
{
    dbx_buf b = {0};
    dbx_pgpass_escape(&b, in, strlen(in));
    if (strcmp(dbx_buf_str(&b), want) != 0) {
        printf("FAIL escape(%s) = %s, want %s\n", in, dbx_buf_str(&b), want);
        failed++;
    }
    checks++;
    dbx_buf_free(&b);
}

static void test_escape(void)
{
    check_escape("", "");
    check_escape("plain", "plain");
    check_escape("*", "\\*");
    check_escape("**", "**");
    check_escape("#a#", "\\#a#");
    check_escape("a:b\\", "a\\:b\\\\");
    check_escape("\\\\::", "\\\\\\\\\\:\\:");
}

static void test_find(void)
{
    static const char text[] = "# h:5432:d:u:comment\n"
                               "h:5432:d:other:no\n"
                               "h:*:d:u:first\n"
                               "h:5432:d:u:second\n";
    dbx_pgpass_entry k = {"h", "5432", "d", "u", NULL};
    dbx_buf pw = {0};
    CHECK(dbx_pgpass_find(text, sizeof text - 1, &k, &pw) == 1);
    CHECK(strcmp(dbx_buf_str(&pw), "first") == 0);
    k.username = "nobody";
    CHECK(dbx_pgpass_find(text, sizeof text - 1, &k, &pw) == 0);
    k.username = "";
    CHECK(dbx_pgpass_find(text, sizeof text - 1, &k, &pw) == 0);
    dbx_buf_free(&pw);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/test_pgpass.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_temp_names();
    test_temp_mode();
    test_crash_leftover();
    test_lock_held();
    test_fifo();
    test_parse();
    test_escape();
    test_find();
    {
        char cmd[8192];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    printf("%d checks, %d failed\n", checks, failed);
    return failed ? 1 : 0;
}
