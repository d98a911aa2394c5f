/* clitoken.c — token from the Databricks CLI (see clitoken.h). */
#include "clitoken.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomicfile.h"
#include "hostname.h"
#include "proc.h"
#include "redact.h"
#include "timeutil.h"

/* "YYYY-MM-DD[ T]HH:MM:SS[.fraction]" and nothing after it: local time. */
static int parse_local(const char *s, size_t n, double *out)
{
    dbx_civil c;
    size_t used;
    struct tm tm;
    time_t t;
    if (dbx_parse_civil(s, n, &c, &used) != 0 || used != n || c.y < 1970)
        return -1;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = c.y - 1900;
    tm.tm_mon = c.mo - 1;
    tm.tm_mday = c.d;
    tm.tm_hour = c.h;
    tm.tm_min = c.mi;
    tm.tm_sec = c.s;
    tm.tm_isdst = -1; /* whatever daylight saving time says on that date */
    t = mktime(&tm);
    if (t == (time_t)-1 || tm.tm_mday != c.d)
        return -1; /* not representable */
    *out = (double)t + c.frac;
    return 0;
}

int dbx_cli_parse_expiry(const char *s, size_t n, double *out)
{
    if (!s || n == 0 || n > 64 || memchr(s, '\0', n))
        return -1;
    if (dbx_parse_rfc3339(s, n, out) == 0)
        return 0;
    return parse_local(s, n, out);
}

int dbx_cli_parse_token(dbx_jsonenv *env, const char *json, size_t len, double now, dbx_token *out,
                        dbx_err *err)
{
    dbx_json *j = dbx_json_decode(env, json, len);
    const char *access, *expiry, *s;
    size_t an = 0, en = 0, n;
    dbx_token_life life = {0};
    int rc;
    if (!j)
        return dbx_err_set(err, DBX_EPROTOCOL, "`databricks auth token` did not print a JSON object");
    access = dbx_json_string(j, "access_token", &an);
    expiry = dbx_json_string(j, "expiry", &en);
    if (!access || !an) {
        dbx_json_free(j);
        return dbx_err_set(err, DBX_EPROTOCOL, "`databricks auth token` printed no access_token");
    }
    /* "\u0000" in the JSON string would cut the C string short, down to ""
     * (found by fuzz/fuzz_token.c). */
    if (strlen(access) != an) {
        dbx_json_free(j);
        return dbx_err_set(err, DBX_EPROTOCOL, "`databricks auth token` printed an access_token with a NUL byte in it");
    }
    if (expiry && dbx_cli_parse_expiry(expiry, en, &life.expires_abs) != 0) {
        dbx_json_free(j);
        return dbx_err_set(err, DBX_EPROTOCOL, "`databricks auth token` printed an unreadable expiry \"%.40s\"", expiry);
    }
    if (dbx_json_number(j, "expires_in", &life.expires_in) != 0 && (s = dbx_json_string(j, "expires_in", &n)) != NULL)
        life.expires_in = strtod(s, NULL);
    /* The CLI computed the expiry on this machine, from the server's
     * expires_in: this clock is the right one to compare it with. */
    life.local_clock = 1;
    rc = dbx_token_accept(out, env, access, NULL, &life, now, "`databricks auth token` output", err);
    dbx_json_free(j);
    return rc;
}

/* First non-empty line of the CLI's stderr, redacted, for an error message. */
static void first_line(const dbx_buf *b, char *out, size_t cap)
{
    const char *s = dbx_buf_str(b);
    size_t n;
    while (*s == '\n' || *s == '\r' || *s == ' ')
        s++;
    n = strcspn(s, "\r\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    dbx_redact(out);
}

/* Does the installed CLI take --force-refresh? Asked once, of its help. */
static int probe_force_refresh(const char *cli, double timeout)
{
    const char *argv[] = {cli, "auth", "token", "--help", NULL};
    dbx_buf sout = {0}, serr = {0};
    int status = -1, not_found = 0, yes = 0;
    dbx_err ignored;
    dbx_err_clear(&ignored);
    if (dbx_proc_run(argv, timeout < 10 ? timeout : 10, &sout, &serr, &status, &not_found, &ignored) == 0 &&
        status == 0)
        yes = strstr(dbx_buf_str(&sout), "--force-refresh") != NULL ||
              strstr(dbx_buf_str(&serr), "--force-refresh") != NULL;
    dbx_buf_free(&sout);
    dbx_buf_free(&serr);
    return not_found ? -1 : yes;
}

/* The lock serialising CLI calls (see clitoken.h). 0 (held, or no HOME to
 * put it in), -1 with err. */
static int cli_lock(dbx_af_lock *lk, double timeout, dbx_err *err)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    dbx_buf dir = {0}, path = {0};
    int rc = -1;
    lk->fd = -1;
    /* A folder of its own: the lock is flock on the folder (atomicfile.h),
     * and the state folder's other writers (the rotator's status file) must
     * not wait for a CLI call. */
    if (state && state[0] == '/')
        rc = dbx_buf_printf(&dir, "%s/lua-databricks/databricks-cli", state);
    else if (home && home[0] == '/')
        rc = dbx_buf_printf(&dir, "%s/.local/state/lua-databricks/databricks-cli", home);
    else
        return 0;
    if (rc != 0 || dbx_buf_printf(&path, "%s/lock", dir.data) != 0) {
        rc = dbx_err_set(err, DBX_EIO, "out of memory");
    } else if (dbx_af_mkdirs(dir.data, err) != 0 || dbx_af_lock_acquire(lk, path.data, timeout, err) != 0) {
        dbx_err_context(err, "serialising Databricks CLI calls");
        rc = -1;
    } else {
        rc = 0;
    }
    dbx_buf_free(&dir);
    dbx_buf_free(&path);
    return rc;
}

int dbx_cli_token(dbx_jsonenv *env, const dbx_cli_opts *o, dbx_token *out, dbx_err *err)
{
    const char *cli = o->cli ? o->cli : "databricks";
    const char *argv[10];
    int argc = 0, status = -1, not_found = 0, rc = -1;
    dbx_buf sout = {0}, serr = {0};
    dbx_af_lock lk = {-1};
    char line[300], what[400];
    double timeout = o->timeout > 0 ? o->timeout : 60;

    argv[argc++] = cli;
    argv[argc++] = "auth";
    argv[argc++] = "token";
    if (o->profile) {
        argv[argc++] = "--profile";
        argv[argc++] = o->profile;
    } else {
        argv[argc++] = "--host";
        argv[argc++] = o->host;
        if (o->account_id && dbx_host_is_account(o->host)) {
            argv[argc++] = "--account-id";
            argv[argc++] = o->account_id;
        }
    }
    if (o->force_refresh && *o->force_refresh < 0)
        *o->force_refresh = probe_force_refresh(cli, timeout);
    if (o->force_refresh && *o->force_refresh > 0)
        argv[argc++] = "--force-refresh";
    argv[argc] = NULL;
    snprintf(what, sizeof what, "`%.100s auth token %s %.200s%s`", cli, o->profile ? "--profile" : "--host",
             o->profile ? o->profile : o->host, argc > 5 && strcmp(argv[5], "--account-id") == 0 ? " --account-id ..." : "");

    if (cli_lock(&lk, timeout, err) != 0)
        goto done;
    if (dbx_proc_run(argv, timeout, &sout, &serr, &status, &not_found, err) != 0) {
        if (not_found)
            dbx_err_set(err, DBX_ECONFIG,
                        "the Databricks CLI (%s) was not found on PATH: install it "
                        "(https://docs.databricks.com/dev-tools/cli/install.html) or use another auth_type",
                        cli);
        goto done;
    }
    if (status != 0) {
        first_line(&serr, line, sizeof line);
        if (o->profile)
            dbx_err_set(err, DBX_EAUTH, "%s failed (exit %d)%s%s; run `databricks auth login --profile %s` first",
                        what, status, line[0] ? ": " : "", line, o->profile);
        else
            dbx_err_set(err, DBX_EAUTH, "%s failed (exit %d)%s%s; run `databricks auth login --host %s` first",
                        what, status, line[0] ? ": " : "", line, o->host);
        goto done;
    }
    rc = dbx_cli_parse_token(env, dbx_buf_str(&sout), sout.len, dbx_now(), out, err);
done:
    dbx_af_lock_release(&lk);
    dbx_buf_free(&sout);
    dbx_buf_free(&serr);
    return rc;
}
