/* err.h — the connector's error value, built in one place (err.c).
 *
 * Every fallible core function takes a `dbx_err *` and returns -1 (or NULL)
 * after filling it; the Lua binding turns it into the table described in
 * DESIGN.md §3 (kind, message, status, error_code, request_id, retry_after).
 * Messages pass through the redactor before they are stored, so no caller can
 * put a token into an error by accident. */
#ifndef DBX_ERR_H
#define DBX_ERR_H

#include <stddef.h>

typedef enum dbx_kind {
    DBX_OK = 0,
    DBX_ECONFIG,   /* bad configuration or arguments from the user */
    DBX_EAUTH,     /* credentials rejected (401/403, invalid_grant, ...) */
    DBX_EHTTP,     /* any other HTTP error status */
    DBX_ENETWORK,  /* DNS, connect, reset, TLS */
    DBX_ETIMEOUT,  /* a deadline passed */
    DBX_EPROTOCOL, /* the server answered something we cannot use */
    DBX_EIO,       /* local files, processes, sockets */
    DBX_ESQL       /* a SQL statement failed on the warehouse */
} dbx_kind;

typedef struct dbx_err {
    dbx_kind kind;
    long status;          /* HTTP status, 0 when there was none */
    double retry_after;   /* seconds the server asked us to wait, < 0 if none */
    char error_code[64];  /* server's error_code / OAuth error, "" if none */
    char request_id[96];  /* x-request-id of the failing response, "" if none */
    char message[1024];
    /* The server's `details` array as JSON text ("" if none, or when it did
     * not fit: details are extra, never worth a truncated document). Kept
     * raw here; the binding decodes it into err.details and scrubs every
     * string in it like a message (l_util.c). */
    char details[2048];
} dbx_err;

void dbx_err_clear(dbx_err *e);

/* Sets kind and a printf-style message (redacted); keeps status, codes and
 * request id already set. Always returns -1 so callers can `return`. */
int dbx_err_set(dbx_err *e, dbx_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with "what: " — used to say which operation
 * failed without losing the cause. Returns -1. */
int dbx_err_context(dbx_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends " (text)" to the existing message. Returns -1. */
int dbx_err_append(dbx_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void dbx_err_set_code(dbx_err *e, const char *code, size_t len);
/* Keeps `json` (a JSON array, len bytes) as the details; dropped when it
 * does not fit. */
void dbx_err_set_details(dbx_err *e, const char *json, size_t len);
void dbx_err_set_request_id(dbx_err *e, const char *id, size_t len);

/* "config", "auth", ... as in DESIGN.md. */
const char *dbx_kind_name(dbx_kind k);

/* One-line human text: "auth: 401 invalid_client: Client authentication
 * failed (request 1234)". Writes at most n bytes including the NUL. */
void dbx_err_format(const dbx_err *e, char *out, size_t n);

#endif
