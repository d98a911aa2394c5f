/* loopback.h — the OAuth redirect listener of the browser sign-in: a TCP
 * listener on 127.0.0.1 at the redirect URI's port that waits for the one
 * GET carrying `code` and `state` (or `error`/`error_description`), answers
 * the browser with a short page, and ignores anything else (favicon,
 * probes). The request parser is pure and fuzzed. */
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

/* Binds 127.0.0.1:port; a busy port is an io error naming it. */
int dbx_listener_open(int port, dbx_listener *l, dbx_err *err);
/* Waits for the callback until `timeout` seconds pass (timeout error) or a
 * stop signal arrives. */
int dbx_listener_wait(dbx_listener *l, const char *path, double timeout, dbx_callback *cb, dbx_err *err);
void dbx_listener_close(dbx_listener *l);

#endif
