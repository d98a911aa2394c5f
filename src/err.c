/* err.c — builds dbx_err values. Every message is passed through the
 * redactor here, once, so that no code path can store a secret in an error. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "redact.h"

static const char *const kind_names[] = {
    "ok", "config", "auth", "http", "network", "timeout", "protocol", "io", "sql",
};

const char *dbx_kind_name(dbx_kind k)
{
    if ((size_t)k >= sizeof kind_names / sizeof kind_names[0])
        return "io";
    return kind_names[k];
}

void dbx_err_clear(dbx_err *e)
{
    memset(e, 0, sizeof *e);
    e->retry_after = -1;
}

int dbx_err_set(dbx_err *e, dbx_kind kind, const char *fmt, ...)
{
    va_list ap;
    e->kind = kind;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    dbx_redact(e->message);
    return -1;
}

int dbx_err_context(dbx_err *e, const char *fmt, ...)
{
    char prefix[256], old[sizeof e->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, e->message, sizeof old);
    snprintf(e->message, sizeof e->message, "%s: %s", prefix, old);
    dbx_redact(e->message);
    return -1;
}

int dbx_err_append(dbx_err *e, const char *fmt, ...)
{
    char suffix[256];
    size_t len = strlen(e->message);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(suffix, sizeof suffix, fmt, ap);
    va_end(ap);
    snprintf(e->message + len, sizeof e->message - len, " (%s)", suffix);
    dbx_redact(e->message);
    return -1;
}

static void copy_field(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    dbx_redact(dst);
}

void dbx_err_set_code(dbx_err *e, const char *code, size_t len)
{
    copy_field(e->error_code, sizeof e->error_code, code, len);
}

void dbx_err_set_details(dbx_err *e, const char *json, size_t len)
{
    if (!json || len >= sizeof e->details) {
        e->details[0] = '\0';
        return;
    }
    memcpy(e->details, json, len);
    e->details[len] = '\0';
}

void dbx_err_set_request_id(dbx_err *e, const char *id, size_t len)
{
    copy_field(e->request_id, sizeof e->request_id, id, len);
}

void dbx_err_format(const dbx_err *e, char *out, size_t n)
{
    char status[24] = "", code[sizeof e->error_code + 3] = "", rid[sizeof e->request_id + 16] = "";
    if (e->status > 0)
        snprintf(status, sizeof status, "HTTP %ld ", e->status);
    if (e->error_code[0])
        snprintf(code, sizeof code, "%s: ", e->error_code);
    if (e->request_id[0])
        snprintf(rid, sizeof rid, " (request %s)", e->request_id);
    snprintf(out, n, "%s error: %s%s%s%s", dbx_kind_name(e->kind), status, code, e->message, rid);
}
