/* loopback.c — redirect listener for the browser sign-in (see loopback.h).
 * Whatever reaches the listener is untrusted (any local process can connect):
 * requests are bounded in size and time, and nothing from them is echoed
 * into the page we answer with. */
#include "loopback.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "sys.h"
#include "timeutil.h"

int dbx_parse_redirect_uri(const char *uri, dbx_redirect *out, dbx_err *err)
{
    const char *p, *hend, *pend;
    size_t hlen;
    long port;
    char *end;
    memset(out, 0, sizeof *out);
    if (!uri || strncmp(uri, "http://", 7) != 0)
        return dbx_err_set(err, DBX_ECONFIG,
                           "redirect_uri \"%.100s\" must be http://localhost:PORT (a loopback address)", uri ? uri : "");
    p = uri + 7;
    if (*p == '[') {
        hend = strchr(p, ']');
        if (!hend)
            return dbx_err_set(err, DBX_ECONFIG, "redirect_uri has an unterminated IPv6 address");
        hend++;
    } else {
        hend = p + strcspn(p, ":/?#");
    }
    hlen = (size_t)(hend - p);
    if (!((hlen == 9 && strncasecmp(p, "localhost", 9) == 0) || (hlen == 9 && strncmp(p, "127.0.0.1", 9) == 0) ||
          (hlen == 5 && strncmp(p, "[::1]", 5) == 0)))
        return dbx_err_set(err, DBX_ECONFIG,
                           "redirect_uri \"%.100s\" must point at localhost or 127.0.0.1: the sign-in "
                           "listens on this machine's loopback interface",
                           uri);
    memcpy(out->host, p, hlen);
    out->host[hlen] = '\0';
    if (*hend != ':')
        return dbx_err_set(err, DBX_ECONFIG, "redirect_uri \"%.100s\" needs an explicit port (e.g. http://localhost:8020)", uri);
    port = strtol(hend + 1, &end, 10);
    if (end == hend + 1 || port < 1 || port > 65535 || (*end && *end != '/'))
        return dbx_err_set(err, DBX_ECONFIG, "redirect_uri \"%.100s\" has an invalid port", uri);
    out->port = (int)port;
    pend = end + strcspn(end, "?#");
    if (pend == end) {
        strcpy(out->path, "/");
    } else {
        if ((size_t)(pend - end) >= sizeof out->path)
            return dbx_err_set(err, DBX_ECONFIG, "redirect_uri path is too long");
        memcpy(out->path, end, (size_t)(pend - end));
        out->path[pend - end] = '\0';
    }
    if (*pend)
        return dbx_err_set(err, DBX_ECONFIG, "redirect_uri must not carry a query or fragment");
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into out (cap bytes with NUL). -1 if too long or
 * if it decodes to a NUL byte. */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= n || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
                (lo = hexval((unsigned char)s[i + 2])) < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || j + 1 >= cap)
            return -1;
        out[j++] = (char)c;
    }
    out[j] = '\0';
    return 0;
}

int dbx_callback_parse(const char *req, size_t n, const char *path, dbx_callback *cb)
{
    const char *end = req + n, *target, *tend, *q, *line_end;
    size_t plen = strlen(path);
    memset(cb, 0, sizeof *cb);
    line_end = memchr(req, '\n', n);
    if (!line_end)
        return -1;
    if (n < 4 || memcmp(req, "GET ", 4) != 0)
        return memchr(req, ' ', (size_t)(line_end - req)) ? 0 : -1;
    target = req + 4;
    tend = memchr(target, ' ', (size_t)(line_end - target));
    if (!tend || tend == target)
        return -1;
    /* " HTTP/" is 6 bytes from tend (found by fuzz/fuzz_loopback.c: "+ 5"
     * let memcmp read one byte past the request). */
    if (end - tend < 6 || memcmp(tend + 1, "HTTP/", 5) != 0)
        return -1;
    q = memchr(target, '?', (size_t)(tend - target));
    if ((size_t)((q ? q : tend) - target) != plen || memcmp(target, path, plen) != 0)
        return 0;
    if (!q)
        return 0;
    for (const char *p = q + 1; p < tend;) {
        const char *amp = memchr(p, '&', (size_t)(tend - p)), *eq;
        const char *pe = amp ? amp : tend;
        size_t klen;
        char *dst = NULL;
        size_t cap = 0;
        eq = memchr(p, '=', (size_t)(pe - p));
        klen = (size_t)((eq ? eq : pe) - p);
        if (klen == 4 && memcmp(p, "code", 4) == 0)
            dst = cb->code, cap = sizeof cb->code;
        else if (klen == 5 && memcmp(p, "state", 5) == 0)
            dst = cb->state, cap = sizeof cb->state;
        else if (klen == 5 && memcmp(p, "error", 5) == 0)
            dst = cb->error, cap = sizeof cb->error;
        else if (klen == 17 && memcmp(p, "error_description", 17) == 0)
            dst = cb->error_description, cap = sizeof cb->error_description;
        if (dst && eq && decode(eq + 1, (size_t)(pe - eq - 1), dst, cap) != 0)
            return -1;
        p = pe + (amp ? 1 : 0);
    }
    return cb->code[0] || cb->error[0] ? 1 : 0;
}

int dbx_listener_open(int port, dbx_listener *l, dbx_err *err)
{
    struct sockaddr_in sa;
    int one = 1;
    l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    l->port = port;
    if (l->fd < 0)
        return dbx_err_set(err, DBX_EIO, "cannot create the sign-in listener: %s", strerror(errno));
    setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l->fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l->fd, 8) != 0) {
        int e = errno;
        close(l->fd);
        l->fd = -1;
        if (e == EADDRINUSE)
            return dbx_err_set(err, DBX_EIO,
                               "port %d on 127.0.0.1 is already in use, so the sign-in cannot receive the "
                               "browser's redirect: stop whatever listens there (another sign-in?) or use a "
                               "redirect_uri with a free port registered for the app",
                               port);
        return dbx_err_set(err, DBX_EIO, "cannot listen on 127.0.0.1:%d for the sign-in: %s", port, strerror(e));
    }
    fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

void dbx_listener_close(dbx_listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

static void reply(int fd, int status, const char *title, const char *text)
{
    char page[1024];
    int n = snprintf(page, sizeof page,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
                     "Cache-Control: no-store\r\nContent-Length: %zu\r\n\r\n"
                     "<!doctype html><title>%s</title><h1>%s</h1><p>%s</p>",
                     status, status == 200 ? "OK" : "Not Found",
                     strlen(title) * 2 + strlen(text) + 50, title, title, text);
    if (n > 0)
        (void)!write(fd, page, (size_t)n < sizeof page ? (size_t)n : sizeof page - 1);
}

/* Reads one request head (up to a blank line) within `seconds`. */
static ssize_t read_head(int fd, char *buf, size_t cap, double seconds)
{
    size_t len = 0;
    double deadline = dbx_monotonic() + seconds;
    while (len + 1 < cap) {
        struct pollfd p = {fd, POLLIN, 0};
        double left = deadline - dbx_monotonic();
        ssize_t n;
        if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            return -1;
        n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            return len ? (ssize_t)len : -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
            return (ssize_t)len;
    }
    return (ssize_t)len;
}

int dbx_listener_wait(dbx_listener *l, const char *path, double timeout, dbx_callback *cb, dbx_err *err)
{
    double deadline = dbx_monotonic() + timeout;
    char head[16384];
    for (;;) {
        struct pollfd p = {l->fd, POLLIN, 0};
        double left = deadline - dbx_monotonic();
        int fd, r;
        ssize_t n;
        if (dbx_stop_requested())
            return dbx_err_set(err, DBX_EIO, "sign-in interrupted by a stop signal");
        if (left <= 0)
            return dbx_err_set(err, DBX_ETIMEOUT,
                               "no sign-in completed within %.0f s: open the printed URL in a browser on "
                               "this machine, or raise login_timeout",
                               timeout);
        if (poll(&p, 1, left > 0.5 ? 500 : (int)(left * 1000) + 1) <= 0)
            continue;
        fd = accept(l->fd, NULL, NULL);
        if (fd < 0)
            continue;
        n = read_head(fd, head, sizeof head, 5);
        r = n > 0 ? dbx_callback_parse(head, (size_t)n, path, cb) : -1;
        if (r == 1) {
            if (cb->error[0])
                reply(fd, 200, "Sign-in failed", "Databricks reported an error. Return to your terminal for details.");
            else
                reply(fd, 200, "Signed in", "You can close this window and return to your terminal.");
            close(fd);
            dbx_wipe(head, sizeof head);
            return 0;
        }
        reply(fd, 404, "Not found", "This address only receives the Databricks sign-in redirect.");
        close(fd);
    }
}
