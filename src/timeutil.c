/* timeutil.c — clocks and time-format parsers (see timeutil.h). Calendar
 * arithmetic is done here (days from civil date) rather than with timegm so
 * the parsers are portable, reentrant and independent of TZ. */
#include "timeutil.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

double dbx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double dbx_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static int days_in_month(long long y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

/* Reads exactly `width` digits. */
static int digits(const char **p, const char *end, int width, int *out)
{
    int v = 0;
    for (int i = 0; i < width; i++) {
        if (*p >= end || !isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

static int civil_ok(int y, int mo, int d, int h, int mi, int s)
{
    return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= days_in_month(y, mo) &&
           h <= 23 && mi <= 59 && s <= 60;
}

static double to_epoch(int y, int mo, int d, int h, int mi, int s)
{
    return (double)(days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400LL + h * 3600 + mi * 60 + s);
}

int dbx_parse_civil(const char *s, size_t n, dbx_civil *out, size_t *used)
{
    const char *p = s, *end = s + n;
    double scale = 0.1;
    dbx_civil c = {0};
    if (digits(&p, end, 4, &c.y) || p >= end || *p++ != '-' || digits(&p, end, 2, &c.mo) ||
        p >= end || *p++ != '-' || digits(&p, end, 2, &c.d) || p >= end ||
        (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (digits(&p, end, 2, &c.h) || p >= end || *p++ != ':' || digits(&p, end, 2, &c.mi) ||
        p >= end || *p++ != ':' || digits(&p, end, 2, &c.s))
        return -1;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !isdigit((unsigned char)*p))
            return -1;
        while (p < end && isdigit((unsigned char)*p)) {
            c.frac += (*p++ - '0') * scale;
            scale /= 10;
        }
    }
    if (!civil_ok(c.y, c.mo, c.d, c.h, c.mi, c.s))
        return -1;
    *out = c;
    *used = (size_t)(p - s);
    return 0;
}

int dbx_parse_rfc3339(const char *s, size_t n, double *out)
{
    const char *p, *end = s + n;
    int oh = 0, om = 0, sign = 0;
    dbx_civil c;
    size_t used;
    if (dbx_parse_civil(s, n, &c, &used) != 0 || used >= n)
        return -1;
    p = s + used;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (digits(&p, end, 2, &oh) || p >= end || *p++ != ':' || digits(&p, end, 2, &om) ||
            oh > 23 || om > 59)
            return -1;
    } else {
        return -1;
    }
    if (p != end)
        return -1;
    *out = to_epoch(c.y, c.mo, c.d, c.h, c.mi, c.s) + c.frac - sign * (oh * 3600 + om * 60);
    return 0;
}

static int month_index(const char *p)
{
    static const char *const months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (strncmp(p, months + 3 * i, 3) == 0)
            return i + 1;
    return 0;
}

static const char *skip_day_name(const char *p, const char *end, char stop)
{
    while (p < end && *p != stop)
        p++;
    return p < end ? p + 1 : NULL;
}

static int hms(const char **p, const char *end, int *h, int *mi, int *s)
{
    return digits(p, end, 2, h) || *p >= end || *(*p)++ != ':' || digits(p, end, 2, mi) ||
                   *p >= end || *(*p)++ != ':' || digits(p, end, 2, s)
               ? -1
               : 0;
}

int dbx_parse_http_date(const char *s, size_t n, double *out)
{
    const char *p = s, *end = s + n;
    int y, mo, d, h, mi, sec;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    while (p < end && isspace((unsigned char)*p))
        p++;
    if (end - p >= 29 && p[3] == ',') {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        p += 5;
        if (digits(&p, end, 2, &d) || *p++ != ' ' || !(mo = month_index(p)))
            return -1;
        p += 3;
        if (*p++ != ' ' || digits(&p, end, 4, &y) || *p++ != ' ' || hms(&p, end, &h, &mi, &sec) ||
            end - p != 4 || strncmp(p, " GMT", 4) != 0)
            return -1;
    } else if (end - p >= 24 && p[3] == ' ' && (mo = month_index(p + 4))) {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        p += 8;
        if (*p == ' ')
            p++;
        if (p < end && isdigit((unsigned char)*p) && p + 1 < end && isdigit((unsigned char)p[1])) {
            if (digits(&p, end, 2, &d))
                return -1;
        } else if (digits(&p, end, 1, &d)) {
            return -1;
        }
        if (*p++ != ' ' || hms(&p, end, &h, &mi, &sec) || *p++ != ' ' || digits(&p, end, 4, &y) ||
            p != end)
            return -1;
    } else {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        if (!(p = skip_day_name(p, end, ',')) || p >= end || *p++ != ' ' ||
            digits(&p, end, 2, &d) || p >= end || *p++ != '-' || end - p < 3 ||
            !(mo = month_index(p)))
            return -1;
        p += 3;
        if (p >= end || *p++ != '-' || digits(&p, end, 2, &y) || p >= end || *p++ != ' ' ||
            hms(&p, end, &h, &mi, &sec) || end - p != 4 || strncmp(p, " GMT", 4) != 0)
            return -1;
        y += y < 70 ? 2000 : 1900;
    }
    if (!civil_ok(y, mo, d, h, mi, sec))
        return -1;
    *out = to_epoch(y, mo, d, h, mi, sec);
    return 0;
}

double dbx_parse_retry_after(const char *s, size_t n, double now)
{
    const char *p = s, *end = s + n;
    double v = 0, t;
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    if (p < end && isdigit((unsigned char)*p)) {
        for (; p < end && isdigit((unsigned char)*p); p++) {
            v = v * 10 + (*p - '0');
            if (v > 1e9)
                return -1;
        }
        return p == end ? v : -1;
    }
    if (dbx_parse_http_date(p, (size_t)(end - p), &t) != 0)
        return -1;
    return t > now ? ceil(t - now) : 0;
}

void dbx_format_rfc3339(double t, char *out, size_t n)
{
    time_t tt = (time_t)floor(t);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
