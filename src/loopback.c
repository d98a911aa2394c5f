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
    if (bind(l->fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l->fd, DBX_LOOPBACK_MAX_CONNS) != 0) {
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

int dbx_listener_open_range(int first, int last, dbx_listener *l, dbx_err *err)
{
    for (int port = first; port <= last; port++) {
        dbx_err tmp;
        dbx_err_clear(&tmp);
        if (dbx_listener_open(port, l, &tmp) == 0)
            return 0;
        if (!strstr(tmp.message, "already in use")) {
            *err = tmp;
            return -1;
        }
    }
    return dbx_err_set(err, DBX_EIO,
                       "ports %d-%d on 127.0.0.1 are all in use, so the sign-in cannot receive the browser's "
                       "redirect: stop the other sign-ins or set redirect_uri to a free port registered for the app",
                       first, last);
}

void dbx_listener_close(dbx_listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

int dbx_loopback_page(int status, int error, char *out, size_t cap)
{
    const char *reason, *title, *text;
    char body[768];
    int blen, n;
    switch (status) {
    case 200:
        reason = "OK", title = "Signed in", text = "You can close this tab and return to your terminal.";
        break;
    case 400:
        reason = "Bad Request";
        if (error)
            title = "Sign-in failed", text = "Databricks reported an error. Return to your terminal for details.";
        else
            title = "Not this sign-in",
            text = "This address only accepts the redirect of the sign-in started in your terminal.";
        break;
    default:
        status = 404, reason = "Not Found", title = "Not found",
        text = "This address only receives the Databricks sign-in redirect.";
        break;
    }
    blen = snprintf(body, sizeof body,
                    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<title>%s</title></head>\n<body><main><h1>%s</h1><p>%s</p></main></body></html>\n",
                    title, title, text);
    if (blen < 0 || (size_t)blen >= sizeof body)
        return -1;
    n = snprintf(out, cap,
                 "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n"
                 "Content-Security-Policy: default-src 'none'\r\nX-Content-Type-Options: nosniff\r\n"
                 "Referrer-Policy: no-referrer\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n%s",
                 status, reason, blen, body);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Sends the page and closes: the whole response, then FIN, so the client
 * sees exactly the bytes announced. Best effort: a peer that went away is
 * no concern of ours (MSG_NOSIGNAL: no SIGPIPE either). */
static void reply(int fd, int status, int error)
{
    char page[2048];
    int n = dbx_loopback_page(status, error, page, sizeof page);
    size_t off = 0;
    double deadline = dbx_monotonic() + 1;
    while (n > 0 && off < (size_t)n && dbx_monotonic() < deadline) {
        ssize_t w = send(fd, page + off, (size_t)n - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            struct pollfd p = {fd, POLLOUT, 0};
            (void)poll(&p, 1, 100);
        } else {
            break;
        }
    }
    shutdown(fd, SHUT_WR);
    close(fd);
}

/* One accepted connection and the request head read so far. */
typedef struct conn {
    int fd;
    double deadline;
    size_t len;
    char *buf; /* HEAD_MAX bytes */
} conn;

#define HEAD_MAX 16384
#define HEAD_SECONDS 5.0

static void conn_drop(conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    if (c->buf) {
        dbx_wipe(c->buf, c->len);
        free(c->buf);
    }
    c->fd = -1;
    c->buf = NULL;
    c->len = 0;
}

/* Constant-time comparison of the expected state with the one received. */
static int state_matches(const char *want, const char *got)
{
    size_t n = strlen(want);
    unsigned char d = (unsigned char)(strlen(got) != n);
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(want[i] ^ (got[i] ? got[i] : 0));
    return d == 0;
}

/* A whole head has arrived (or the buffer is full): 1 to answer now. */
static int head_done(const conn *c)
{
    return c->len >= HEAD_MAX - 1 || strstr(c->buf, "\r\n\r\n") || strstr(c->buf, "\n\n");
}

/* Answers one complete request. 1 when it was this sign-in's redirect (cb
 * filled), else 0 (answered and ignored; *ignored counted up for a
 * callback with the wrong state). */
static int answer(conn *c, const char *path, const char *state, dbx_callback *cb, int *ignored)
{
    int r = dbx_callback_parse(c->buf, c->len, path, cb);
    int fd = c->fd;
    c->fd = -1;
    if (r == 1 && state_matches(state, cb->state)) {
        reply(fd, cb->error[0] ? 400 : 200, cb->error[0] != 0);
        return 1;
    }
    if (r == 1)
        (*ignored)++;
    reply(fd, r == 1 || r < 0 ? 400 : 404, 0);
    dbx_wipe(cb, sizeof *cb);
    return 0;
}

int dbx_listener_wait(dbx_listener *l, const char *path, const char *state, double timeout, dbx_callback *cb,
                      dbx_err *err)
{
    double deadline = dbx_monotonic() + timeout;
    conn conns[DBX_LOOPBACK_MAX_CONNS];
    struct pollfd fds[DBX_LOOPBACK_MAX_CONNS + 1];
    int ignored = 0, rc = -1;

    for (int i = 0; i < DBX_LOOPBACK_MAX_CONNS; i++)
        conns[i].fd = -1, conns[i].buf = NULL, conns[i].len = 0;
    memset(cb, 0, sizeof *cb);
    for (;;) {
        double now = dbx_monotonic(), wake = deadline;
        int nfds = 1, done = 0;
        if (dbx_stop_requested()) {
            dbx_err_set(err, DBX_EIO, "sign-in interrupted by a stop signal");
            break;
        }
        if (now >= deadline) {
            dbx_err_set(err, DBX_ETIMEOUT,
                        "no sign-in completed within %.0f s: open the printed URL in a browser on this machine, "
                        "or raise login_timeout%s",
                        timeout, ignored ? " (a redirect without this sign-in's state was ignored)" : "");
            break;
        }
        fds[0].fd = l->fd;
        fds[0].events = POLLIN;
        for (int i = 0; i < DBX_LOOPBACK_MAX_CONNS; i++) {
            if (conns[i].fd < 0)
                continue;
            if (now >= conns[i].deadline) {
                conn_drop(&conns[i]); /* a stalled client gets 5 s, not the sign-in */
                continue;
            }
            if (conns[i].deadline < wake)
                wake = conns[i].deadline;
            fds[nfds].fd = conns[i].fd;
            fds[nfds].events = POLLIN;
            nfds++;
        }
        if (wake - now > 0.5)
            wake = now + 0.5; /* stop signals are checked at least twice a second */
        if (poll(fds, (nfds_t)nfds, (int)((wake - now) * 1000) + 1) <= 0)
            continue;
        /* Reads first (a complete head is answered before new connections
         * can push anything out), then accepts. */
        for (int i = 0, k = 1; i < DBX_LOOPBACK_MAX_CONNS && !done; i++) {
            conn *c = &conns[i];
            ssize_t n;
            if (c->fd < 0)
                continue;
            if (k >= nfds || fds[k].fd != c->fd || !(fds[k++].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(c->fd, c->buf + c->len, HEAD_MAX - 1 - c->len);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n > 0) {
                c->len += (size_t)n;
                c->buf[c->len] = '\0';
            }
            if (n > 0 ? head_done(c) : c->len > 0) {
                done = answer(c, path, state, cb, &ignored);
                conn_drop(c);
            } else if (n <= 0) {
                conn_drop(c);
            }
        }
        if (done) {
            rc = 0;
            break;
        }
        if (fds[0].revents & POLLIN) {
            for (;;) {
                int fd = accept(l->fd, NULL, NULL), slot = -1;
                if (fd < 0)
                    break;
                fcntl(fd, F_SETFD, FD_CLOEXEC);
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                for (int i = 0; i < DBX_LOOPBACK_MAX_CONNS; i++) {
                    if (conns[i].fd < 0) {
                        slot = i;
                        break;
                    }
                    if (slot < 0 || conns[i].deadline < conns[slot].deadline)
                        slot = i; /* full: the oldest makes room */
                }
                conn_drop(&conns[slot]);
                conns[slot].buf = malloc(HEAD_MAX);
                if (!conns[slot].buf) {
                    close(fd);
                    continue;
                }
                conns[slot].buf[0] = '\0';
                conns[slot].fd = fd;
                conns[slot].len = 0;
                conns[slot].deadline = dbx_monotonic() + HEAD_SECONDS;
            }
        }
    }
    for (int i = 0; i < DBX_LOOPBACK_MAX_CONNS; i++)
        conn_drop(&conns[i]);
    return rc;
}
