/* timeutil.h — clocks and the time formats servers send: RFC 3339
 * timestamps (token and credential expiries), HTTP-dates and delta-seconds
 * (Retry-After). Parsers are pure and fuzzable; they never read the clock
 * unless the name says so. */
#ifndef DBX_TIMEUTIL_H
#define DBX_TIMEUTIL_H

#include <stddef.h>

/* Wall-clock time in seconds since the epoch (sub-second precision). */
double dbx_now(void);
/* Monotonic seconds (for deadlines and measuring durations). */
double dbx_monotonic(void);

/* "2026-11-21T10:00:00Z", "2026-11-21T10:00:00.123+01:00", also a space
 * instead of 'T' and lower-case 't'/'z'. 0 and *out = epoch seconds, or -1. */
/* "YYYY-MM-DD[Tt ]HH:MM:SS[.fraction]" at the start of s, calendar-checked
 * (no Feb 30): its fields, and in *used how many bytes it took (what
 * follows is the caller's: a zone for RFC 3339, nothing for the CLI's local
 * times). 0, or -1 when s does not start with one. */
typedef struct dbx_civil {
    int y, mo, d, h, mi, s;
    double frac;
} dbx_civil;
int dbx_parse_civil(const char *s, size_t n, dbx_civil *out, size_t *used);

int dbx_parse_rfc3339(const char *s, size_t n, double *out);

/* IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" (and the obsolete RFC 850 and
 * asctime forms RFC 9110 asks recipients to accept). 0 or -1. */
int dbx_parse_http_date(const char *s, size_t n, double *out);

/* Retry-After: delta-seconds or an HTTP-date relative to `now`. Returns the
 * number of seconds to wait (never negative), or -1 when unparsable. */
double dbx_parse_retry_after(const char *s, size_t n, double now);

/* Formats epoch seconds as RFC 3339 UTC ("2026-11-21T10:00:00Z"). */
void dbx_format_rfc3339(double t, char *out, size_t n);

#endif
