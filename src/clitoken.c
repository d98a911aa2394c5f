/* clitoken.c — token from the Databricks CLI (see clitoken.h). The CLI's
 * stderr may echo things we must not print, so only a redacted first line
 * of it reaches an error message. */
#include "clitoken.h"

#include <stdio.h>
#include <string.h>

#include "proc.h"
#include "redact.h"
#include "timeutil.h"

int dbx_cli_parse_token(dbx_jsonenv *env, const char *json, size_t len, double now, dbx_token *out,
                        dbx_err *err)
{
    dbx_json *j = dbx_json_decode(env, json, len);
    const char *access, *expiry;
    size_t an = 0, en = 0;
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
    if (expiry && dbx_parse_rfc3339(expiry, en, &life.expires_abs) != 0) {
        dbx_json_free(j);
        return dbx_err_set(err, DBX_EPROTOCOL, "`databricks auth token` printed an unreadable expiry \"%.40s\"", expiry);
    }
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

int dbx_cli_token(dbx_jsonenv *env, const char *cli, const char *host, double timeout, dbx_token *out,
                  dbx_err *err)
{
    const char *argv[] = {cli ? cli : "databricks", "auth", "token", "--host", host, NULL};
    dbx_buf sout = {0}, serr = {0};
    int status = -1, not_found = 0, rc = -1;
    char line[300];

    if (dbx_proc_run(argv, timeout, &sout, &serr, &status, &not_found, err) != 0) {
        if (not_found)
            dbx_err_set(err, DBX_ECONFIG,
                        "the Databricks CLI (%s) was not found on PATH: install it "
                        "(https://docs.databricks.com/dev-tools/cli/install.html) or use another auth_type",
                        argv[0]);
        goto done;
    }
    if (status != 0) {
        first_line(&serr, line, sizeof line);
        dbx_err_set(err, DBX_EAUTH,
                    "`%s auth token --host %s` failed (exit %d)%s%s; run `databricks auth login --host %s` first",
                    argv[0], host, status, line[0] ? ": " : "", line, host);
        goto done;
    }
    rc = dbx_cli_parse_token(env, dbx_buf_str(&sout), sout.len, dbx_now(), out, err);
done:
    dbx_buf_free(&sout);
    dbx_buf_free(&serr);
    return rc;
}
