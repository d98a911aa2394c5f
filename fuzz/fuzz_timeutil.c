/* fuzz_timeutil.c — libFuzzer driver for the time formats servers send
 * (src/timeutil.c): RFC 3339 expiries, HTTP-dates and Retry-After.
 *
 * The input (an exact-size heap copy, no terminator: the parsers take a
 * length and must not read past it) goes to each parser. Checked:
 *  - dbx_parse_rfc3339: 0 with a finite time within years 1..9999 (give or
 *    take a day of offset), or -1; formatting floor(t) with
 *    dbx_format_rfc3339 and parsing that gives floor(t) back (1970..9999);
 *  - dbx_parse_http_date: likewise; formatting the time as an IMF-fixdate
 *    and parsing it gives it back;
 *  - dbx_parse_retry_after: -1, or a finite, non-negative wait; digits-only
 *    input gives its value (or -1 past 1e9);
 *  - dbx_format_rfc3339 on any finite time the parsers produce never
 *    overflows its buffer.
 *
 * Run: fuzz/run.sh timeutil. Replayed by spec/c/fuzz_timeutil_corpus.c. */
#include "fuzz_common.h"

#include <ctype.h>
#include <math.h>
#include <time.h>

#include "timeutil.h"

#define MIN_T (-62135596800.0 - 2 * 86400.0) /* 0001-01-01, less a day of offset and a leap second */
#define MAX_T (253402300799.0 + 2 * 86400.0) /* 9999-12-31T23:59:59, plus the same */
#define NOW 1795255200.0                      /* 2026-11-21T10:00:00Z */

static void check_rfc3339(const char *s, size_t n)
{
    double t = -1, back = -1;
    char out[64];
    if (dbx_parse_rfc3339(s, n, &t) != 0)
        return;
    CHECK(isfinite(t) && t >= MIN_T && t <= MAX_T);
    if (t < 0 || t >= 253402300800.0)
        return;
    dbx_format_rfc3339(t, out, sizeof out);
    CHECK(memchr(out, '\0', sizeof out) != NULL);
    CHECK(dbx_parse_rfc3339(out, strlen(out), &back) == 0);
    CHECK(back == floor(t));
}

static void check_http_date(const char *s, size_t n)
{
    double t = -1, back = -1;
    char out[64];
    struct tm tm;
    time_t tt;
    if (dbx_parse_http_date(s, n, &t) != 0)
        return;
    CHECK(isfinite(t) && t >= MIN_T && t <= MAX_T && t == floor(t));
    if (t < 0 || t >= 253402300800.0)
        return;
    tt = (time_t)t;
    CHECK(gmtime_r(&tt, &tm) != NULL);
    CHECK(strftime(out, sizeof out, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
    CHECK(dbx_parse_http_date(out, strlen(out), &back) == 0);
    CHECK(back == t);
}

static void check_retry_after(const char *s, size_t n)
{
    double w = dbx_parse_retry_after(s, n, NOW);
    size_t i = 0, j = n;
    CHECK(w == -1 || (isfinite(w) && w >= 0));
    while (i < j && isspace((unsigned char)s[i]))
        i++;
    while (j > i && isspace((unsigned char)s[j - 1]))
        j--;
    if (i < j && j - i <= 9) {
        double v = 0;
        int all = 1;
        for (size_t k = i; k < j; k++) {
            if (!isdigit((unsigned char)s[k]))
                all = 0;
            else
                v = v * 10 + (s[k] - '0');
        }
        if (all)
            CHECK(w == v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_exact(data, size);
    check_rfc3339(s, size);
    check_http_date(s, size);
    check_retry_after(s, size);
    fuzz_free_exact(s, size);
    return 0;
}
