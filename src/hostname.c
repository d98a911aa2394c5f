/* hostname.c — host normalisation and HTTP-path parsing (see hostname.h). */
#include "hostname.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_loopback(const char *host, size_t n)
{
    return (n == 9 && strncasecmp(host, "localhost", 9) == 0) ||
           (n == 9 && strncmp(host, "127.0.0.1", 9) == 0) || (n == 5 && strncmp(host, "[::1]", 5) == 0);
}

int dbx_normalize_host(const char *in, char *out, size_t n, dbx_err *err)
{
    const char *p = in, *end, *scheme = "https", *auth, *auth_end, *colon = NULL;
    size_t slen, hlen;
    long port = 0;
    char host[256];

    if (!in)
        return dbx_err_set(err, DBX_ECONFIG, "host is required (e.g. https://x.cloud.databricks.com)");
    while (isspace((unsigned char)*p))
        p++;
    end = p + strlen(p);
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    if (p == end)
        return dbx_err_set(err, DBX_ECONFIG, "host is empty: give the workspace URL, e.g. https://x.cloud.databricks.com");

    auth = strstr(p, "://");
    if (auth && auth < end) {
        slen = (size_t)(auth - p);
        if (slen == 5 && strncasecmp(p, "https", 5) == 0)
            scheme = "https";
        else if (slen == 4 && strncasecmp(p, "http", 4) == 0)
            scheme = "http";
        else
            return dbx_err_set(err, DBX_ECONFIG, "host \"%.*s\" has scheme \"%.*s\": use https://",
                               (int)(end - p > 200 ? 200 : end - p), p, (int)(slen > 20 ? 20 : slen), p);
        auth += 3;
    } else {
        auth = p;
    }
    auth_end = auth;
    while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
        auth_end++;
    if (memchr(auth, '@', (size_t)(auth_end - auth)))
        return dbx_err_set(err, DBX_ECONFIG,
                           "host must not contain user credentials (user@host); pass credentials as config keys");
    if (auth < auth_end && *auth == '[') {
        const char *rb = memchr(auth, ']', (size_t)(auth_end - auth));
        if (!rb)
            return dbx_err_set(err, DBX_ECONFIG, "host has an unterminated IPv6 address");
        if (rb + 1 < auth_end) {
            if (rb[1] != ':')
                return dbx_err_set(err, DBX_ECONFIG, "host has junk after the IPv6 address");
            colon = rb + 1;
        }
    } else {
        colon = memchr(auth, ':', (size_t)(auth_end - auth));
    }
    hlen = (size_t)((colon ? colon : auth_end) - auth);
    if (hlen == 0)
        return dbx_err_set(err, DBX_ECONFIG, "host \"%.*s\" has no host name",
                           (int)(end - p > 200 ? 200 : end - p), p);
    if (hlen >= sizeof host)
        return dbx_err_set(err, DBX_ECONFIG, "host name is longer than %zu bytes", sizeof host - 1);
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)auth[i];
        if (!(isalnum(c) || c == '-' || c == '.' || c == '_' || c == '[' || c == ']' || c == ':'))
            return dbx_err_set(err, DBX_ECONFIG, "host name contains '%c', which is not allowed in a host name",
                               isprint(c) ? c : '?');
        host[i] = (char)tolower(c);
    }
    host[hlen] = '\0';
    if (colon) {
        const char *q = colon + 1;
        char *pend;
        if (q == auth_end) {
            colon = NULL; /* "host:" means the default port */
        } else {
            for (const char *d = q; d < auth_end; d++)
                if (!isdigit((unsigned char)*d))
                    return dbx_err_set(err, DBX_ECONFIG, "host port is not a number");
            port = strtol(q, &pend, 10);
            if (port < 1 || port > 65535 || pend - q > 5)
                return dbx_err_set(err, DBX_ECONFIG, "host port must be 1-65535");
        }
    }
    if (strcmp(scheme, "http") == 0 && !is_loopback(host, hlen))
        return dbx_err_set(err, DBX_ECONFIG,
                           "host uses http://: Databricks workspaces need https:// (plain http is only allowed for loopback hosts)");
    if ((strcmp(scheme, "https") == 0 && port == 443) || (strcmp(scheme, "http") == 0 && port == 80))
        port = 0;
    if (port ? snprintf(out, n, "%s://%s:%ld", scheme, host, port) >= (int)n
             : snprintf(out, n, "%s://%s", scheme, host) >= (int)n)
        return dbx_err_set(err, DBX_ECONFIG, "host is too long");
    return 0;
}

int dbx_ident_valid(const char *s, size_t max)
{
    size_t n = 0;
    if (!s || !*s)
        return 0;
    for (; s[n]; n++)
        if (!(isalnum((unsigned char)s[n]) || s[n] == '.' || s[n] == '_' || s[n] == ':' || s[n] == '-'))
            return 0;
    return n <= max;
}

int dbx_host_is_account(const char *h)
{
    return strncmp(h, "https://accounts.", 17) == 0 || strncmp(h, "https://accounts-dod.", 21) == 0;
}

static int hexdigit(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* The percent-decoded value of query parameter `name`; 1 found (possibly
 * empty), 0 absent, -1 not decodable or too long. */
static int query_param(const char *q, const char *qend, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);
    while (q < qend) {
        const char *amp = memchr(q, '&', (size_t)(qend - q)), *pe = amp ? amp : qend;
        if ((size_t)(pe - q) > nlen && strncmp(q, name, nlen) == 0 && q[nlen] == '=') {
            size_t j = 0;
            for (const char *v = q + nlen + 1; v < pe; v++) {
                int c = (unsigned char)*v;
                if (c == '%') {
                    int hi, lo;
                    if (pe - v < 3 || (hi = hexdigit((unsigned char)v[1])) < 0 || (lo = hexdigit((unsigned char)v[2])) < 0)
                        return -1;
                    c = hi * 16 + lo;
                    v += 2;
                } else if (c == '+') {
                    c = ' ';
                }
                if (j + 1 >= cap)
                    return -1;
                out[j++] = (char)c;
            }
            out[j] = '\0';
            return 1;
        }
        q = pe + (amp ? 1 : 0);
    }
    return 0;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

int dbx_host_workspace_id(const char *in, char *out, size_t n, dbx_err *err)
{
    const char *q = in ? strchr(in, '?') : NULL, *qend;
    char v[128];
    static const char *const numeric[] = {"o", "workspace_id", NULL};
    int r;
    if (!q)
        return 0;
    q++;
    qend = q + strcspn(q, "#");
    while (qend > q && isspace((unsigned char)qend[-1]))
        qend--;
    r = query_param(q, qend, "w", v, sizeof v);
    if (r == 1 && v[0]) {
        if (!dbx_ident_valid(v, 100) || strlen(v) >= n)
            return dbx_err_set(err, DBX_ECONFIG,
                               "host: the workspace id in ?w= is not an identifier (letters, digits, '.', '_', ':', '-')");
        strcpy(out, v);
        return (int)strlen(v);
    }
    for (int i = 0; numeric[i]; i++) {
        r = query_param(q, qend, numeric[i], v, sizeof v);
        /* The Go SDK takes ?o= / ?workspace_id= only when numeric. */
        if (r == 1 && all_digits(v) && strlen(v) < n && strlen(v) <= 20) {
            strcpy(out, v);
            return (int)strlen(v);
        }
    }
    return 0;
}

/* Matches `prefix` then one id segment (optionally followed by '/' or a query). */
static size_t segment_after(const char *path, const char *prefix, char *out, size_t n)
{
    size_t plen = strlen(prefix), len;
    const char *id;
    if (!path || strncmp(path, prefix, plen) != 0)
        return 0;
    id = path + plen;
    len = strcspn(id, "/?#");
    if (len == 0 || len >= n)
        return 0;
    if (id[len] == '/' && id[len + 1] != '\0' && id[len + 1] != '?')
        return 0; /* more path segments: not this kind of path */
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
            return 0;
    memcpy(out, id, len);
    out[len] = '\0';
    return len;
}

size_t dbx_warehouse_id_from_http_path(const char *path, char *out, size_t n)
{
    size_t len;
    if (path && *path == '/')
        path++; /* the leading '/' is optional, as in the SDKs */
    len = segment_after(path, "sql/1.0/warehouses/", out, n);
    return len ? len : segment_after(path, "sql/1.0/endpoints/", out, n);
}

size_t dbx_cluster_id_from_http_path(const char *path, char *out, size_t n)
{
    const char *p;
    if (path && *path == '/')
        path++;
    if (!path || strncmp(path, "sql/protocolv1/o/", 17) != 0)
        return 0;
    p = path + 17;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p != '/' || p == path + 17)
        return 0; /* the workspace id is numeric */
    return segment_after(p, "/", out, n);
}
