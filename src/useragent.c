/* useragent.c — User-Agent validation and formatting (see useragent.h). */
#include "useragent.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "version.h"

int dbx_ua_valid_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.+-", *s))
            return 0;
    return 1;
}

/* A numeric identifier: digits, no leading zero unless it is "0". */
static const char *numeric(const char *s)
{
    const char *p = s;
    while (isdigit((unsigned char)*p))
        p++;
    if (p == s || (*s == '0' && p - s > 1))
        return NULL;
    return p;
}

/* Dot-separated identifiers of [0-9A-Za-z-] (pre-release or build). */
static const char *identifiers(const char *s)
{
    for (;;) {
        const char *p = s;
        while (isalnum((unsigned char)*p) || *p == '-')
            p++;
        if (p == s)
            return NULL;
        if (*p != '.')
            return p;
        s = p + 1;
    }
}

int dbx_ua_valid_semver(const char *s)
{
    if (!s)
        return 0;
    for (int i = 0; i < 3; i++) {
        if (!(s = numeric(s)))
            return 0;
        if (i < 2 && *s++ != '.')
            return 0;
    }
    if (*s == '-' && !(s = identifiers(s + 1)))
        return 0;
    if (*s == '+' && !(s = identifiers(s + 1)))
        return 0;
    return *s == '\0';
}

int dbx_ua_check_product(const char *isv, const char *product, const char *version, dbx_err *err)
{
    if (!dbx_ua_valid_name(isv))
        return dbx_err_set(err, DBX_ECONFIG,
                           "set_product: isv name must match ^[A-Za-z0-9_.+-]+$ (got \"%.64s\")",
                           isv ? isv : "");
    if (!dbx_ua_valid_name(product))
        return dbx_err_set(err, DBX_ECONFIG,
                           "set_product: product name must match ^[A-Za-z0-9_.+-]+$ (got \"%.64s\")",
                           product ? product : "");
    if (!dbx_ua_valid_semver(version))
        return dbx_err_set(err, DBX_ECONFIG,
                           "set_product: version must be semver such as 1.2.3 (got \"%.64s\")",
                           version ? version : "");
    if (strlen(isv) + strlen(product) + strlen(version) > 200)
        return dbx_err_set(err, DBX_ECONFIG, "set_product: product token longer than 200 bytes");
    return 0;
}

const char *dbx_ua_os(void)
{
#if defined(__APPLE__)
    return "darwin";
#elif defined(__linux__)
    return "linux";
#elif defined(__FreeBSD__)
    return "freebsd";
#else
    return "unknown";
#endif
}

int dbx_ua_format(char *out, size_t n, const char *isv, const char *product, const char *version)
{
    int len;
    if (isv && product && version)
        len = snprintf(out, n, "%s_%s/%s %s/%s lua/5.4 os/%s", isv, product, version,
                       DBX_UA_PRODUCT, DBX_VERSION, dbx_ua_os());
    else
        len = snprintf(out, n, "%s/%s lua/5.4 os/%s", DBX_UA_PRODUCT, DBX_VERSION, dbx_ua_os());
    return len < 0 || (size_t)len >= n ? -1 : len;
}
