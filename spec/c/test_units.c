/* test_units.c — C-level tests of the core's pure functions: time parsers,
 * back-off, token freshness, host and HTTP-path rules, base64url, redaction,
 * the INI parser, the sign-in callback parser and pages, User-Agent
 * validation, and the auth-breadth pieces: workspace ids in hosts, the
 * discovery pinning rule, CLI expiry forms, OIDC subject-token sources (read
 * afresh at every call), the scrubbed environment of child processes and the
 * Go SDK's reading of inline comments and quotes.
 * Run by spec/core_units_spec.lua. Prints one line per failed check, then
 * "N checks, N failed"; exits 1 when any failed. Linking every core object
 * here also proves the module has no undefined internal symbol. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base64url.h"
#include "buf.h"
#include "childenv.h"
#include "clitoken.h"
#include "config.h"
#include "hostname.h"
#include "http.h"
#include "ini.h"
#include "loopback.h"
#include "oauth.h"
#include "oidc.h"
#include "redact.h"
#include "timeutil.h"
#include "token.h"
#include "useragent.h"

#include "check.h"

static void test_rfc3339(void)
{
    static const struct {
        const char *in;
        double want; /* < 0: must fail */
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-11-21T10:00:00Z", 1795255200},
        {"2026-11-21T10:00:00.5Z", 1795255200.5},
        {"2026-11-21T11:00:00+01:00", 1795255200},
        {"2026-11-21T09:30:00-00:30", 1795255200},
        {"2026-11-21 10:00:00z", 1795255200},
        {"2024-02-29T00:00:00Z", 1709164800},
        {"2023-02-29T00:00:00Z", -1},
        {"2026-13-01T00:00:00Z", -1},
        {"2026-11-21T10:00:00", -1},
        {"2026-11-21T10:00Z", -1},
        {"2026-11-21T10:00:00.Z", -1},
        {"2026-11-21T10:00:00Zjunk", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double t = -99;
        int rc = dbx_parse_rfc3339(cases[i].in, strlen(cases[i].in), &t);
        if (cases[i].want < 0)
            CHECK(rc != 0, "rfc3339 accepted \"%s\"", cases[i].in);
        else
            CHECK(rc == 0 && fabs(t - cases[i].want) < 1e-6, "rfc3339 \"%s\" -> %f (rc %d)", cases[i].in, t, rc);
    }
    {
        char out[40];
        dbx_format_rfc3339(1795255200.9, out, sizeof out);
        CHECK(strcmp(out, "2026-11-21T10:00:00Z") == 0, "format_rfc3339 gave %s", out);
    }
}

static void test_retry_after(void)
{
    double now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    double t;
    CHECK(dbx_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", 29, &t) == 0 && t == now, "IMF-fixdate");
    CHECK(dbx_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", 30, &t) == 0 && t == now, "RFC 850 date");
    CHECK(dbx_parse_http_date("Sun Nov  6 08:49:37 1994", 24, &t) == 0 && t == now, "asctime date");
    CHECK(dbx_parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC", 29, &t) != 0, "non-GMT zone rejected");
    CHECK(dbx_parse_retry_after("120", 3, now) == 120, "delta seconds");
    CHECK(dbx_parse_retry_after(" 7 ", 3, now) == 7, "delta seconds with spaces");
    CHECK(dbx_parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", 29, now) == 10, "date 10 s ahead");
    CHECK(dbx_parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", 29, now) == 0, "date in the past is 0");
    CHECK(dbx_parse_retry_after("-5", 2, now) < 0, "negative rejected");
    CHECK(dbx_parse_retry_after("1.5", 3, now) < 0, "fraction rejected");
    CHECK(dbx_parse_retry_after("soon", 4, now) < 0, "junk rejected");
    CHECK(dbx_parse_retry_after("99999999999", 11, now) < 0, "absurd value rejected");
}

static void test_backoff(void)
{
    CHECK(dbx_http_backoff(1, 10, 1, 0, -1) == 0.5, "first back-off, no jitter: half of 1 s");
    CHECK(dbx_http_backoff(1, 10, 1, 0.999999, -1) > 0.99, "first back-off, max jitter: ~1 s");
    CHECK(dbx_http_backoff(1, 10, 3, 0, -1) == 2, "third back-off is 4 s scaled to 2..4");
    CHECK(dbx_http_backoff(1, 10, 10, 0.999999, -1) <= 10, "capped at 10 s");
    CHECK(dbx_http_backoff(1, 10, 1, 0, 7) == 7, "never below Retry-After");
    for (int a = 1; a < 40; a++) {
        double d = dbx_http_backoff(1, 10, a, 0.5, -1);
        CHECK(d >= 0.5 && d <= 10, "attempt %d back-off %f in range", a, d);
    }
    CHECK(dbx_http_status_retryable(429) && dbx_http_status_retryable(503) && dbx_http_status_retryable(502) &&
              dbx_http_status_retryable(504),
          "429/502/503/504 retried");
    CHECK(!dbx_http_status_retryable(500) && !dbx_http_status_retryable(400) && !dbx_http_status_retryable(401) &&
              !dbx_http_status_retryable(404),
          "500/400/401/404 not retried");
}

static void test_token_freshness(void)
{
    dbx_token t = {0};
    CHECK(dbx_token_check(&t, 100) == DBX_TOKEN_NONE, "no token");
    dbx_token_set(&t, "a", NULL, 0, 0);
    CHECK(dbx_token_check(&t, 1e12) == DBX_TOKEN_FRESH, "token without expiry is always fresh");
    /* One hour: stale after 40 min (20 min window), expired 40 s early. */
    dbx_token_set(&t, "a", NULL, 3600, 0);
    CHECK(dbx_token_check(&t, 2399) == DBX_TOKEN_FRESH, "1h token fresh at 39:59");
    CHECK(dbx_token_check(&t, 2400) == DBX_TOKEN_STALE, "1h token stale at 40:00");
    CHECK(dbx_token_check(&t, 3559) == DBX_TOKEN_STALE, "1h token still usable at 59:19");
    CHECK(dbx_token_check(&t, 3560) == DBX_TOKEN_EXPIRED, "1h token expired 40 s early");
    /* Ten seconds: used for its first 5 s, never considered expired at once. */
    dbx_token_set(&t, "a", NULL, 1010, 1000);
    CHECK(dbx_token_check(&t, 1000) == DBX_TOKEN_FRESH, "10s token fresh when new");
    CHECK(dbx_token_check(&t, 1004.9) == DBX_TOKEN_FRESH, "10s token fresh at 4.9 s");
    CHECK(dbx_token_check(&t, 1005) == DBX_TOKEN_STALE, "10s token stale at 5 s");
    CHECK(dbx_token_check(&t, 1009) == DBX_TOKEN_EXPIRED, "10s token expired 1 s early");
    CHECK(dbx_token_expiry_margin(3600) == 40 && dbx_token_expiry_margin(10) == 1, "margins scale");
    CHECK(dbx_token_stale_window(7200) == 1200, "stale window capped at 20 min");
    dbx_token_clear(&t);
}

static void test_hosts(void)
{
    static const struct {
        const char *in, *want; /* want NULL: must fail */
    } cases[] = {
        {"x.cloud.databricks.com", "https://x.cloud.databricks.com"},
        {"https://x.cloud.databricks.com/", "https://x.cloud.databricks.com"},
        {"  HTTPS://X.Cloud.Databricks.com/?o=123#frag ", "https://x.cloud.databricks.com"},
        {"https://x.cloud.databricks.com/sql/1.0/warehouses/abc", "https://x.cloud.databricks.com"},
        {"https://x.cloud.databricks.com:443", "https://x.cloud.databricks.com"},
        {"https://x.cloud.databricks.com:8443/", "https://x.cloud.databricks.com:8443"},
        {"127.0.0.1:4443", "https://127.0.0.1:4443"},
        {"http://localhost:8080", "http://localhost:8080"},
        {"https://[::1]:9000/x", "https://[::1]:9000"},
        {"http://x.cloud.databricks.com", NULL},
        {"ftp://x", NULL},
        {"https://user:pw@x.cloud.databricks.com", NULL},
        {"https://", NULL},
        {"", NULL},
        {"https://x:0", NULL},
        {"https://x:70000", NULL},
        {"https://x:12ab", NULL},
        {"https://bad host", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[300] = "";
        dbx_err e;
        int rc;
        dbx_err_clear(&e);
        rc = dbx_normalize_host(cases[i].in, out, sizeof out, &e);
        if (cases[i].want)
            CHECK(rc == 0 && strcmp(out, cases[i].want) == 0, "host \"%s\" -> \"%s\" (%s)", cases[i].in, out, e.message);
        else
            CHECK(rc != 0 && e.kind == DBX_ECONFIG && e.message[0], "host \"%s\" accepted as \"%s\"", cases[i].in, out);
    }
}

static void test_http_paths(void)
{
    char id[64];
    CHECK(dbx_warehouse_id_from_http_path("/sql/1.0/warehouses/abc123", id, sizeof id) && !strcmp(id, "abc123"),
          "warehouse path");
    CHECK(dbx_warehouse_id_from_http_path("/sql/1.0/warehouses/abc123/", id, sizeof id) && !strcmp(id, "abc123"),
          "warehouse path with trailing slash");
    CHECK(dbx_warehouse_id_from_http_path("/sql/1.0/endpoints/e1", id, sizeof id) && !strcmp(id, "e1"),
          "older endpoints path");
    CHECK(!dbx_warehouse_id_from_http_path("/sql/1.0/warehouses/", id, sizeof id), "empty id");
    CHECK(!dbx_warehouse_id_from_http_path("/sql/1.0/warehouses/a/b", id, sizeof id), "extra segment");
    CHECK(!dbx_warehouse_id_from_http_path("/sql/protocolv1/o/123/0123-456-abc", id, sizeof id),
          "cluster path is not a warehouse");
    CHECK(dbx_cluster_id_from_http_path("/sql/protocolv1/o/123/0123-456-abc", id, sizeof id) &&
              !strcmp(id, "0123-456-abc"),
          "cluster path");
    CHECK(!dbx_cluster_id_from_http_path("/sql/protocolv1/o/abc/x", id, sizeof id), "workspace id must be numeric");
}

static void test_base64url(void)
{
    unsigned char raw[64];
    for (size_t n = 0; n <= sizeof raw; n++) {
        dbx_buf enc = {0}, dec = {0};
        for (size_t i = 0; i < n; i++)
            raw[i] = (unsigned char)(i * 37 + n);
        dbx_b64url_encode(&enc, raw, n);
        CHECK(!strpbrk(dbx_buf_str(&enc), "+/="), "no padding or std chars (n=%zu)", n);
        CHECK(dbx_b64url_decode(&dec, enc.data, enc.len) == 0 && dec.len == n && memcmp(dec.data, raw, n) == 0,
              "round trip n=%zu", n);
        dbx_buf_free(&enc);
        dbx_buf_free(&dec);
    }
    {
        dbx_buf b = {0};
        dbx_b64_encode(&b, (const unsigned char *)"id:secret", 9);
        CHECK(strcmp(dbx_buf_str(&b), "aWQ6c2VjcmV0") == 0, "standard base64 %s", dbx_buf_str(&b));
        dbx_buf_reset(&b);
        dbx_b64_encode(&b, (const unsigned char *)"ab", 2);
        CHECK(strcmp(dbx_buf_str(&b), "YWI=") == 0, "padding %s", dbx_buf_str(&b));
        dbx_buf_reset(&b);
        CHECK(dbx_b64url_decode(&b, "a*b", 3) != 0, "invalid char rejected");
        dbx_buf_free(&b);
    }
}

static void test_redact(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"Authorization: Bearer abc.def-ghi", "Authorization: Bearer [REDACTED]"},
        {"Basic aWQ6c2VjcmV0", "Basic [REDACTED]"},
        {"got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln here", "got [REDACTED] here"},
        {"pat dapi0123456789abcdef0123456789abcdef", "pat [REDACTED]"},
        {"grant_type=refresh_token&refresh_token=dorfABCDEFGHIJKLMNOPQRSTU&client_id=x",
         "grant_type=refresh_token&refresh_token=[REDACTED]&client_id=x"},
        {"{\"access_token\": \"short\"}", "{\"access_token\": \"***\"}"},
        {"client_secret: hunter2hunter2", "client_secret: [REDACTED]"},
        {"status code: 500, invalid token: expired", "status code: 500, invalid token: expired"},
        {"error_code=TABLE_DOES_NOT_EXIST", "error_code=TABLE_DOES_NOT_EXIST"},
        {"/callback?code=abc123&state=xyz", "/callback?code=***&state=xyz"},
        {"nothing secret here", "nothing secret here"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", cases[i].in);
        dbx_redact(buf);
        CHECK(strcmp(buf, cases[i].want) == 0, "redact \"%s\" -> \"%s\"", cases[i].in, buf);
    }
    {
        char buf[128] = "the secret is Tr0ub4dor&3 indeed";
        const char *known[] = {"Tr0ub4dor&3", "abc", NULL};
        dbx_redact_known(buf, known);
        CHECK(strcmp(buf, "the secret is [REDACTED] indeed") == 0, "known secret: %s", buf);
    }
}

typedef struct ini_rec {
    char out[1024];
} ini_rec;

static int ini_cb(void *ud, const char *section, const char *key, const char *value, int line, dbx_err *err)
{
    ini_rec *r = ud;
    size_t n = strlen(r->out);
    (void)err;
    snprintf(r->out + n, sizeof r->out - n, "%d[%s]%s=%s;", line, section, key ? key : "", value ? value : "");
    return 0;
}

static void test_ini(void)
{
    const char *text = "\xEF\xBB\xBF# comment\n[DEFAULT]\nhost = https://a\n; c\n[prod]\nHost: https://b\n"
                       "token=dapi1\n  continued\n\n[empty]\n";
    ini_rec r = {""};
    dbx_err e;
    dbx_err_clear(&e);
    CHECK(dbx_ini_parse(text, strlen(text), ini_cb, &r, &e) == 0, "ini parses: %s", e.message);
    CHECK(strcmp(r.out, "2[DEFAULT]=;3[DEFAULT]host=https://a;5[prod]=;6[prod]host=https://b;"
                        "7[prod]token=dapi1\ncontinued;10[empty]=;") == 0,
          "ini events: %s", r.out);
    r.out[0] = '\0';
    CHECK(dbx_ini_parse("host = x\n", 9, ini_cb, &r, &e) != 0 && strstr(e.message, "line 1"),
          "key before section: %s", e.message);
    CHECK(dbx_ini_parse("[a\n", 3, ini_cb, &r, &e) != 0, "unterminated section");
    CHECK(dbx_ini_parse("[a]\nnovalue\n", 12, ini_cb, &r, &e) != 0 && strstr(e.message, "line 2"),
          "line without '=': %s", e.message);
}

static void test_callback(void)
{
    dbx_callback cb;
    const char *ok = "GET /?code=abc%2Fdef&state=s+1 HTTP/1.1\r\nHost: localhost\r\n\r\n";
    const char *err = "GET /cb?error=access_denied&error_description=User%20said%20no&state=s HTTP/1.1\r\n\r\n";
    CHECK(dbx_callback_parse(ok, strlen(ok), "/", &cb) == 1 && !strcmp(cb.code, "abc/def") &&
              !strcmp(cb.state, "s 1"),
          "code/state decoded: %s %s", cb.code, cb.state);
    CHECK(dbx_callback_parse(err, strlen(err), "/cb", &cb) == 1 && !strcmp(cb.error, "access_denied") &&
              !strcmp(cb.error_description, "User said no"),
          "error callback");
    CHECK(dbx_callback_parse(err, strlen(err), "/", &cb) == 0, "other path ignored");
    CHECK(dbx_callback_parse("GET /favicon.ico HTTP/1.1\r\n\r\n", 29, "/", &cb) == 0, "favicon ignored");
    CHECK(dbx_callback_parse("GET /?code=%zz HTTP/1.1\r\n\r\n", 27, "/", &cb) == -1, "bad escape rejected");
    CHECK(dbx_callback_parse("GET /?code=%00 HTTP/1.1\r\n\r\n", 27, "/", &cb) == -1, "NUL rejected");
    CHECK(dbx_callback_parse("garbage", 7, "/", &cb) == -1, "garbage rejected");
    {
        dbx_redirect r;
        dbx_err e;
        dbx_err_clear(&e);
        CHECK(dbx_parse_redirect_uri("http://localhost:8020", &r, &e) == 0 && r.port == 8020 && !strcmp(r.path, "/"),
              "default redirect");
        CHECK(dbx_parse_redirect_uri("http://127.0.0.1:9000/callback", &r, &e) == 0 && r.port == 9000 &&
                  !strcmp(r.path, "/callback"),
              "redirect with path");
        CHECK(dbx_parse_redirect_uri("https://localhost:8020", &r, &e) != 0, "https redirect refused");
        CHECK(dbx_parse_redirect_uri("http://example.com:8020", &r, &e) != 0, "remote redirect refused");
        CHECK(dbx_parse_redirect_uri("http://localhost", &r, &e) != 0, "port required");
    }
}

static void test_user_agent(void)
{
    char ua[256];
    CHECK(dbx_ua_valid_semver("1.2.3") && dbx_ua_valid_semver("0.1.0-rc.1+build.5") && dbx_ua_valid_semver("10.20.30"),
          "valid semver");
    CHECK(!dbx_ua_valid_semver("1.2") && !dbx_ua_valid_semver("01.2.3") && !dbx_ua_valid_semver("1.2.3-") &&
              !dbx_ua_valid_semver("v1.2.3") && !dbx_ua_valid_semver(""),
          "invalid semver");
    CHECK(dbx_ua_valid_name("Acme_Corp.io+x-1") && !dbx_ua_valid_name("a b") && !dbx_ua_valid_name("a/b") &&
              !dbx_ua_valid_name(""),
          "product names");
    CHECK(dbx_ua_format(ua, sizeof ua, "Acme", "Pipe", "1.0.0") > 0 &&
              strncmp(ua, "Acme_Pipe/1.0.0 LuaDatabricks_Connector/", 40) == 0 && strstr(ua, " lua/5.4 os/"),
          "UA format: %s", ua);
}

static void test_workspace_ids(void)
{
    static const struct {
        const char *host, *want; /* want NULL: none; "!": an error */
    } cases[] = {
        {"https://x.cloud.databricks.com/?o=1234567890123", "1234567890123"},
        {"x.cloud.databricks.com?o=42", "42"},
        {"https://x/?workspace_id=77", "77"},
        {"https://x/browse?w=abc-1.2", "abc-1.2"},
        {"https://x/?w=9&o=8", "9"},
        {"https://x/?a=1&o=5#frag", "5"},
        {"https://x/?o=abc", NULL},
        {"https://x/?o=", NULL},
        {"https://x/?oo=5", NULL},
        {"https://x/path", NULL},
        {"https://x/?w=a%0Db", "!"},
        {"https://x/?w=a%zz", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[128] = "";
        dbx_err e;
        int n;
        dbx_err_clear(&e);
        n = dbx_host_workspace_id(cases[i].host, out, sizeof out, &e);
        if (!cases[i].want)
            CHECK(n == 0, "no workspace id in %s (got %d \"%s\")", cases[i].host, n, out);
        else if (!strcmp(cases[i].want, "!"))
            CHECK(n < 0 && e.kind == DBX_ECONFIG, "workspace id of %s refused", cases[i].host);
        else
            CHECK(n > 0 && !strcmp(out, cases[i].want), "workspace id of %s: \"%s\"", cases[i].host, out);
    }
    CHECK(dbx_host_is_account("https://accounts.cloud.databricks.com") &&
              dbx_host_is_account("https://accounts-dod.cloud.databricks.us") &&
              !dbx_host_is_account("https://accountsx.cloud.databricks.com") &&
              !dbx_host_is_account("https://x.accounts.cloud.databricks.com"),
          "account hosts");
}

static void test_same_origin(void)
{
    static const struct {
        const char *url;
        int same;
    } cases[] = {
        {"https://h.example/oidc/v1/token", 1},
        {"https://H.Example/oidc/v1/token", 1},
        {"https://h.example:443/oidc/v1/token", 1},
        {"https://h.example:8443/oidc/v1/token", 0},
        {"http://h.example/oidc/v1/token", 0},
        {"https://h.example.evil/oidc/v1/token", 0},
        {"https://evil@h.example/oidc/v1/token", 0},
        {"https://h.example", 0},
        {"https://h.example?x=/y", 0},
        {"//h.example/oidc", 0},
        {"h.example/oidc", 0},
        {"https://h.example/oidc v1", 0},
        {"https://h.example/oidc\r\nX: y", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(dbx_oauth_same_origin(cases[i].url, strlen(cases[i].url), "https://h.example") == cases[i].same,
              "same origin as https://h.example: %s", cases[i].url);
    CHECK(dbx_oauth_same_origin("https://127.0.0.1:8443/t", 24, "https://127.0.0.1:8443"), "port kept");
}

static void test_cli_expiry(void)
{
    static const struct {
        const char *in;
        double want; /* < 0 must fail; 0: local time, checked against mktime */
    } cases[] = {
        {"2024-03-20T10:30:00Z", 1710930600},
        {"2024-03-20T10:30:00.123456789Z", 1710930600.123456789},
        {"2024-03-20T11:30:00+01:00", 1710930600},
        {"2024-03-20 10:30:00Z", 1710930600},
        {"2024-03-20 10:30:00", 0},
        {"2024-03-20 10:30:00.5", 0},
        {"2024-03-20T10:30:00", 0},
        {"2024-02-30 10:30:00", -1},
        {"2024-03-20 10:30", -1},
        {"2024-03-20 10:30:00 PST", -1},
        {"next tuesday", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double t = -99;
        int rc = dbx_cli_parse_expiry(cases[i].in, strlen(cases[i].in), &t);
        if (cases[i].want < 0) {
            CHECK(rc != 0, "CLI expiry accepted \"%s\"", cases[i].in);
        } else if (cases[i].want == 0) {
            struct tm tm;
            memset(&tm, 0, sizeof tm);
            tm.tm_year = 124, tm.tm_mon = 2, tm.tm_mday = 20, tm.tm_hour = 10, tm.tm_min = 30, tm.tm_isdst = -1;
            CHECK(rc == 0 && fabs(t - (double)mktime(&tm)) < 1, "CLI expiry \"%s\" is local time (%f)",
                  cases[i].in, t);
        } else {
            CHECK(rc == 0 && fabs(t - cases[i].want) < 1e-3, "CLI expiry \"%s\" -> %f", cases[i].in, t);
        }
    }
}

static void test_oidc_sources(void)
{
    dbx_config cfg;
    dbx_err e;
    char *t;
    char path[] = "/tmp/dbx-test-oidc-XXXXXX";
    int fd;
    memset(&cfg, 0, sizeof cfg);
    dbx_err_clear(&e);
    cfg.auth = DBX_AUTH_ENV_OIDC;
    cfg.oidc_token_env = "DBX_TEST_OIDC";
    setenv("DBX_TEST_OIDC", "eyJfirst.eyJx.sig", 1);
    t = dbx_oidc_subject_token(NULL, NULL, &cfg, NULL, &e);
    CHECK(t && !strcmp(t, "eyJfirst.eyJx.sig"), "env token read");
    dbx_oidc_release(t);
    setenv("DBX_TEST_OIDC", "eyJsecond.eyJx.sig", 1);
    t = dbx_oidc_subject_token(NULL, NULL, &cfg, NULL, &e);
    CHECK(t && !strcmp(t, "eyJsecond.eyJx.sig"), "env token read afresh at every call");
    {
        char msg[64] = "x eyJsecond.eyJx.sig y";
        dbx_redact(msg);
        CHECK(!strstr(msg, "eyJsecond"), "a held subject token is redacted: %s", msg);
    }
    dbx_oidc_release(t);
    setenv("DBX_TEST_OIDC", "has space", 1);
    t = dbx_oidc_subject_token(NULL, NULL, &cfg, NULL, &e);
    CHECK(!t && e.kind == DBX_ECONFIG && !strstr(e.message, "has space"), "bad env token refused: %s", e.message);
    unsetenv("DBX_TEST_OIDC");
    t = dbx_oidc_subject_token(NULL, NULL, &cfg, NULL, &e);
    CHECK(!t && strstr(e.message, "DBX_TEST_OIDC is not set"), "missing variable named: %s", e.message);

    fd = mkstemp(path);
    CHECK(fd >= 0, "temp file");
    if (fd >= 0) {
        (void)!write(fd, "  eyJfile.eyJx.sig\n\n", 20);
        close(fd);
        cfg.auth = DBX_AUTH_FILE_OIDC;
        cfg.oidc_token_file = path;
        t = dbx_oidc_subject_token(NULL, NULL, &cfg, NULL, &e);
        CHECK(t && !strcmp(t, "eyJfile.eyJx.sig"), "file token, whitespace stripped");
        dbx_oidc_release(t);
        unlink(path);
    }
    cfg.token_audience = NULL;
    cfg.account_id = NULL;
    CHECK(!strcmp(dbx_oidc_audience(&cfg, "https://h/oidc/v1/token"), "https://h/oidc/v1/token"), "audience: endpoint");
    cfg.account_id = "acc";
    CHECK(!strcmp(dbx_oidc_audience(&cfg, "https://h/oidc/v1/token"), "acc"), "audience: account id");
    cfg.token_audience = "aud";
    CHECK(!strcmp(dbx_oidc_audience(&cfg, "https://h/oidc/v1/token"), "aud"), "audience: token_audience first");
}

static void test_child_env(void)
{
    const char *add[] = {"DBX_TARGET=t1", "PATH=/only/this", NULL};
    dbx_childenv env;
    int saw_target = 0, saw_path = 0, saw_keep = 0, bad = 0;
    setenv("DATABRICKS_CLIENT_SECRET", "dose0123456789abcdef0123456789ab", 1);
    setenv("DATABRICKS_TOKEN", "dapi-some-token-value", 1);
    setenv("DATABRICKS_PASSWORD", "a-password", 1);
    setenv("DBX_TEST_HOLDS_SECRET", "prefix-registered-secret-value-suffix", 1);
    setenv("DBX_TEST_KEEP", "kept", 1);
    dbx_secret_add("registered-secret-value");
    CHECK(dbx_childenv_build(&env, add) == 0, "child env built");
    for (char **p = env.envp; p && *p; p++) {
        if (!strncmp(*p, "DATABRICKS_CLIENT_SECRET=", 25) || !strncmp(*p, "DATABRICKS_TOKEN=", 17) ||
            !strncmp(*p, "DATABRICKS_PASSWORD=", 20) || !strncmp(*p, "DBX_TEST_HOLDS_SECRET=", 22))
            bad++;
        saw_target += !strcmp(*p, "DBX_TARGET=t1");
        saw_path += !strncmp(*p, "PATH=", 5) ? (!strcmp(*p, "PATH=/only/this") ? 1 : 100) : 0;
        saw_keep += !strcmp(*p, "DBX_TEST_KEEP=kept");
    }
    CHECK(bad == 0, "secrets removed from a child's environment (%d left)", bad);
    CHECK(saw_target == 1 && saw_path == 1 && saw_keep == 1, "additions set, others kept (%d %d %d)", saw_target,
          saw_path, saw_keep);
    dbx_childenv_free(&env);
    dbx_secret_remove("registered-secret-value");
    unsetenv("DATABRICKS_CLIENT_SECRET");
    unsetenv("DATABRICKS_TOKEN");
    unsetenv("DATABRICKS_PASSWORD");
    unsetenv("DBX_TEST_HOLDS_SECRET");
    unsetenv("DBX_TEST_KEEP");
}

static void test_loopback_pages(void)
{
    static const int statuses[][2] = {{200, 0}, {400, 1}, {400, 0}, {404, 0}};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        char page[2048];
        int n = dbx_loopback_page(statuses[i][0], statuses[i][1], page, sizeof page);
        const char *body = n > 0 ? strstr(page, "\r\n\r\n") : NULL, *cl = n > 0 ? strstr(page, "Content-Length: ") : NULL;
        CHECK(n > 0 && body && cl, "page %d built", statuses[i][0]);
        if (n > 0 && body && cl) {
            CHECK((size_t)atoi(cl + 16) == (size_t)n - (size_t)(body + 4 - page),
                  "page %d sends exactly the bytes it announces", statuses[i][0]);
            CHECK(!strstr(page, "<script") && strstr(page, "default-src 'none'") && strstr(page, "lang=\"en\""),
                  "page %d: no script, nothing fetched, a language", statuses[i][0]);
        }
    }
}

static void test_ini_go(void)
{
    const char *text = "[p]\ndq = \"%Y#X$Z\" # comment\nsq = '%Y#X$Z' ; c\nnq = %Y#X$Z # comment\n"
                       "hash = a#b\nsemi = a;b ; c\ninner = \"a\"b\"\nempty = \"\"\n";
    ini_rec r = {""};
    dbx_err e;
    dbx_err_clear(&e);
    CHECK(dbx_ini_parse(text, strlen(text), ini_cb, &r, &e) == 0, "ini parses: %s", e.message);
    CHECK(strcmp(r.out, "1[p]=;2[p]dq=%Y#X$Z;3[p]sq=%Y#X$Z;4[p]nq=%Y#X$Z;5[p]hash=a#b;6[p]semi=a;b;"
                        "7[p]inner=\"a\"b\";8[p]empty=;") == 0,
          "Go SDK's inline comments and quotes: %s", r.out);
}

int main(void)
{
    test_rfc3339();
    test_retry_after();
    test_backoff();
    test_token_freshness();
    test_hosts();
    test_http_paths();
    test_base64url();
    test_redact();
    test_ini();
    test_callback();
    test_user_agent();
    test_workspace_ids();
    test_same_origin();
    test_cli_expiry();
    test_oidc_sources();
    test_child_env();
    test_loopback_pages();
    test_ini_go();
    return CHECK_EXIT();
}
