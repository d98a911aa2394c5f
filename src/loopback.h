/* loopback.h — the OAuth redirect listener of the browser sign-in: a TCP
 * listener on 127.0.0.1 at the redirect URI's port that waits for the one
 * GET carrying this sign-in's `state` with a `code` (or an `error`), answers
 * the browser with a short page, and ignores anything else (favicon,
 * probes). Any local process can connect, so (DESIGN.md §9, trust #9):
 *   - connections are served concurrently (poll over up to
 *     DBX_LOOPBACK_MAX_CONNS sockets; when that many are open the oldest is
 *     dropped), each with its own 5 s deadline for its request head, so
 *     idle or stalled clients cannot starve the real redirect;
 *   - `state` is checked first: a callback without this sign-in's state is
 *     answered 400 and ignored (it can neither end nor abort the sign-in,
 *     whatever `code` or `error` it carries); the sign-in keeps waiting;
 *   - the pages are small accessible HTML with no script and nothing
 *     fetched (Content-Security-Policy: default-src 'none'), sent with
 *     exactly the Content-Length they announce; a callback carrying an
 *     error is answered 400, as the Go SDK does.
 * The request parser and the page builder are pure and fuzzed. */
#ifndef DBX_LOOPBACK_H
#define DBX_LOOPBACK_H

#include <stddef.h>

#include "err.h"

typedef struct dbx_redirect {
    char host[64];
    int port;
    char path[256]; /* "/" when the URI has none */
} dbx_redirect;

/* http://localhost:PORT[/path], http://127.0.0.1:PORT[/path] (or [::1]). */
int dbx_parse_redirect_uri(const char *uri, dbx_redirect *out, dbx_err *err);

typedef struct dbx_callback {
    char code[2048];
    char state[512];
    char error[128];
    char error_description[512];
} dbx_callback;

/* Parses one HTTP request head. Returns 1 when it is a GET of `path` with a
 * code or an error in its query (cb filled), 0 for any other well-formed
 * request, -1 when malformed. */
int dbx_callback_parse(const char *req, size_t n, const char *path, dbx_callback *cb);

typedef struct dbx_listener {
    int fd;
    int port;
} dbx_listener;

#define DBX_LOOPBACK_MAX_CONNS 64

/* Binds 127.0.0.1:port; a busy port is an io error naming it. */
int dbx_listener_open(int port, dbx_listener *l, dbx_err *err);
/* Binds the first free port of first..last (the SDKs' fallback when the
 * default port is busy); when none is free, an io error naming the range. */
int dbx_listener_open_range(int first, int last, dbx_listener *l, dbx_err *err);
/* Waits for the callback of `path` carrying `state` until `timeout`
 * seconds pass (timeout error) or a stop signal arrives. cb then holds the
 * code, or the error the authorization server reported. */
int dbx_listener_wait(dbx_listener *l, const char *path, const char *state, double timeout, dbx_callback *cb,
                      dbx_err *err);
void dbx_listener_close(dbx_listener *l);

/* The whole HTTP response the listener sends for `status` (200 signed in;
 * 400 with `error` set: the sign-in failed; 400 otherwise: not this
 * sign-in's redirect; 404: anything else): written into out (cap bytes),
 * its length returned; its Content-Length is exactly the body's length.
 * -1 when it does not fit. Pure. */
int dbx_loopback_page(int status, int error, char *out, size_t cap);

#endif
