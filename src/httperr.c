/* httperr.c — error responses into dbx_err (see httperr.h). The shapes are
 * tried in the SDKs' order: the private-link redirect, an empty body, a JSON
 * object, "CODE: message" text, anything else (HTML or plain text) as an
 * excerpt. */
#include "httperr.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A printable, single-line excerpt of a non-JSON body. */
static void excerpt(const char *s, size_t n, char *out, size_t cap)
{
    size_t j = 0;
    int space = 0;
    /* Skip markup so an HTML error page shows its text, not its tags. */
    int in_tag = 0;
    /* One step writes up to 2 bytes (a space and the byte); "..." and the
     * NUL must still fit after it. "j + 4 < cap" let the NUL land one byte
     * past the end (found by fuzz/fuzz_httperr.c). */
    for (size_t i = 0; i < n && j + 6 <= cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '<') {
            in_tag = 1;
            continue;
        }
        if (in_tag) {
            in_tag = c != '>';
            if (!in_tag)
                space = 1;
            continue;
        }
        if (isspace(c) || c < 0x20 || c == 0x7f) {
            space = 1;
            continue;
        }
        if (space && j > 0)
            out[j++] = ' ';
        space = 0;
        out[j++] = (char)c;
    }
    if (j + 6 > cap)
        memcpy(out + j, "...", 3), j += 3;
    out[j] = '\0';
}

static int is_oauth_auth_error(const char *code)
{
    static const char *const codes[] = {"invalid_grant", "invalid_client", "invalid_request",
                                        "unauthorized_client", "access_denied", "invalid_scope", NULL};
    for (int i = 0; codes[i]; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    return 0;
}

static const char *hint_for(long status, int oauth)
{
    if (status == 401)
        return oauth ? "check the client id and secret, or sign in again"
                     : "the token was rejected: check it, or that it has not expired or been revoked";
    if (status == 403)
        return "the identity lacks permission for this operation";
    if (status == 429)
        return "rate limited; the connector retried until its time budget ran out";
    if (status >= 500)
        return "the workspace had a server-side problem; try again later";
    return NULL;
}

/* Reason phrases, and the error code the SDKs give an error of that status
 * when the body says nothing (their status-to-error mapping; NULL: the
 * reason phrase in upper case, as for an HTML page). */
static const struct status_info {
    long status;
    const char *reason;
    const char *code;
} statuses[] = {
    {400, "Bad Request", "BAD_REQUEST"},
    {401, "Unauthorized", "UNAUTHENTICATED"},
    {403, "Forbidden", "PERMISSION_DENIED"},
    {404, "Not Found", "NOT_FOUND"},
    {405, "Method Not Allowed", NULL},
    {408, "Request Timeout", NULL},
    {409, "Conflict", "RESOURCE_CONFLICT"},
    {410, "Gone", NULL},
    {413, "Payload Too Large", NULL},
    {415, "Unsupported Media Type", NULL},
    {429, "Too Many Requests", "TOO_MANY_REQUESTS"},
    {499, "Client Closed Request", "CANCELLED"},
    {500, "Internal Server Error", "INTERNAL_ERROR"},
    {501, "Not Implemented", "NOT_IMPLEMENTED"},
    {502, "Bad Gateway", NULL},
    {503, "Service Unavailable", "TEMPORARILY_UNAVAILABLE"},
    {504, "Gateway Timeout", "DEADLINE_EXCEEDED"},
    {0, NULL, NULL},
};

static const struct status_info *status_info(long status)
{
    for (const struct status_info *s = statuses; s->reason; s++)
        if (s->status == status)
            return s;
    return NULL;
}

/* "Bad Gateway" -> "BAD_GATEWAY" (the SDKs' code for an HTML error page). */
static void reason_code(const char *reason, char *out, size_t cap)
{
    size_t j = 0;
    for (; *reason && j + 1 < cap; reason++)
        out[j++] = *reason == ' ' ? '_' : (char)toupper((unsigned char)*reason);
    out[j] = '\0';
}

/* The value of response header `name` (case-insensitive) into out; 0, or
 * -1 when absent. */
static int header_value(const dbx_http_response *r, const char *name, char *out, size_t cap)
{
    const char *p = dbx_buf_str(&r->headers), *end = p + r->headers.len;
    size_t nlen = strlen(name);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        if ((size_t)(le - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            size_t n;
            while (v < le && (*v == ' ' || *v == '\t'))
                v++;
            while (le > v && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
                le--;
            n = (size_t)(le - v);
            if (n >= cap)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return 0;
        }
        p = eol ? eol + 1 : end;
    }
    return -1;
}

int dbx_http_is_private_link(const dbx_http_response *resp)
{
    char loc[1024];
    const char *path, *query;
    if (resp->status < 300 || resp->status > 399 || header_value(resp, "location", loc, sizeof loc) != 0)
        return 0;
    path = loc;
    if (strstr(loc, "://")) {
        path = strstr(loc, "://") + 3;
        path += strcspn(path, "/?#");
    }
    query = strchr(path, '?');
    if (!query || (size_t)(query - path) != 11 || strncmp(path, "/login.html", 11) != 0)
        return 0;
    return strstr(query, "error=private-link-validation-error") != NULL;
}

/* "CODE: message" (the Python SDK's rule: CODE of A-Z and '_' at the very
 * start, then ": ", the message up to the end of the line). */
static int text_error(const char *body, size_t n, dbx_err *err, char *text, size_t cap)
{
    size_t c = 0, m;
    const char *msg;
    while (c < n && (isupper((unsigned char)body[c]) || body[c] == '_'))
        c++;
    if (c == 0 || c + 2 > n || body[c] != ':' || body[c + 1] != ' ')
        return -1;
    msg = body + c + 2;
    for (m = 0; c + 2 + m < n && msg[m] != '\n' && msg[m] != '\r'; m++)
        ;
    dbx_err_set_code(err, body, c);
    snprintf(text, cap, "%.*s", (int)(m < 500 ? m : 500), msg);
    return 0;
}

/* Reads a JSON error object into code/text; 0 when it said something. */
static int json_error(dbx_jsonenv *env, const dbx_json *j, long status, dbx_err *err, char *text, size_t cap,
                      int *oauth)
{
    const char *code, *msg = NULL, *scim_type;
    size_t code_len = 0, msg_len = 0, tlen = 0;
    double num;
    char numtext[32];
    dbx_buf details = {0};
    (void)env;

    if ((code = dbx_json_string(j, "error_code", &code_len)) != NULL) {
        dbx_err_set_code(err, code, code_len);
    } else if (dbx_json_number(j, "error_code", &num) == 0) {
        /* A number (older APIs): kept as its decimal text, as the SDKs do. */
        snprintf(numtext, sizeof numtext, "%.15g", num);
        dbx_err_set_code(err, numtext, strlen(numtext));
    }
    msg = dbx_json_string(j, "message", &msg_len);
    if ((code = dbx_json_string(j, "error", &code_len)) != NULL) {
        const char *desc = dbx_json_string(j, "error_description", &tlen);
        if (desc || (is_oauth_auth_error(code) && !err->error_code[0])) {
            /* OAuth (RFC 6749). */
            *oauth = 1;
            dbx_err_set_code(err, code, code_len);
            msg = desc, msg_len = tlen;
        } else {
            /* {"error": "Some sentence"} of API 1.2 is the message. */
            msg = code, msg_len = code_len;
        }
    }
    if ((!msg || !msg_len) && dbx_json_string(j, "detail", &tlen) != NULL) {
        /* SCIM (RFC 7644 §3.12): "scimType detail", code SCIM_<status>. */
        const char *detail = dbx_json_string(j, "detail", &tlen), *st;
        size_t stlen = 0, sl = 0;
        scim_type = dbx_json_string(j, "scimType", &stlen);
        if (tlen == 4 && memcmp(detail, "null", 4) == 0)
            detail = "SCIM API Internal Error", tlen = strlen(detail);
        snprintf(text, cap, "%.*s%s%.*s", (int)(stlen < 100 ? stlen : 100), scim_type ? scim_type : "",
                 scim_type && stlen ? " " : "", (int)(tlen < 450 ? tlen : 450), detail);
        if ((st = dbx_json_string(j, "status", &sl)) != NULL)
            snprintf(numtext, sizeof numtext, "SCIM_%.*s", (int)(sl < 20 ? sl : 20), st);
        else if (dbx_json_number(j, "status", &num) == 0)
            snprintf(numtext, sizeof numtext, "SCIM_%.15g", num);
        else
            snprintf(numtext, sizeof numtext, "SCIM_%ld", status);
        dbx_err_set_code(err, numtext, strlen(numtext));
        msg = text, msg_len = strlen(text);
    }
    if (dbx_json_raw(j, "details", &details) == 0)
        dbx_err_set_details(err, details.data, details.len);
    dbx_buf_free(&details);
    if (!msg)
        return err->error_code[0] ? (snprintf(text, cap, "(no message)"), 0) : -1;
    if (msg != text)
        snprintf(text, cap, "%.*s", (int)(msg_len < 500 ? msg_len : 500), msg);
    return 0;
}

static int private_link_error(const dbx_http_response *resp, const char *what, dbx_err *err)
{
    err->status = 403; /* what the SDKs report for it */
    dbx_err_set_code(err, "PRIVATE_LINK_VALIDATION_ERROR", 29);
    return dbx_err_set(err, DBX_EAUTH,
                       "%s: the workspace has private connectivity enabled (AWS PrivateLink, Azure Private Link "
                       "or Google Cloud Private Service Connect) and is not accessible from this network: it "
                       "answered HTTP %ld with a redirect to its login page (private-link-validation-error), "
                       "which this connector never follows; make sure this machine reaches the workspace "
                       "through its private endpoint (VPC endpoint / private DNS)",
                       what, resp->status);
}

int dbx_http_error(dbx_jsonenv *env, const dbx_http_response *resp, const char *what, dbx_err *err)
{
    const char *body = dbx_buf_str(&resp->body), *hint;
    const struct status_info *si = status_info(resp->status);
    dbx_json *j;
    int oauth = 0, said = -1;
    char text[600], code[64];
    dbx_kind kind;

    err->status = resp->status;
    err->retry_after = resp->retry_after;
    if (resp->request_id[0])
        dbx_err_set_request_id(err, resp->request_id, strlen(resp->request_id));
    if (dbx_http_is_private_link(resp))
        return private_link_error(resp, what, err);

    if (resp->body.len == 0) {
        if (si && si->code)
            dbx_err_set_code(err, si->code, strlen(si->code));
        else if (si)
            reason_code(si->reason, code, sizeof code), dbx_err_set_code(err, code, strlen(code));
        snprintf(text, sizeof text, "%s (empty response body)", si ? si->reason : "error status");
        said = 0;
    } else if ((j = dbx_json_decode(env, body, resp->body.len)) != NULL) {
        said = json_error(env, j, resp->status, err, text, sizeof text, &oauth);
        dbx_json_free(j);
    } else {
        said = text_error(body, resp->body.len, err, text, sizeof text);
    }
    if (said != 0) {
        char ex[200];
        /* The media type without parameters ("text/html", not "; charset"). */
        int tlen = (int)strcspn(resp->content_type, "; ");
        excerpt(body, resp->body.len, ex, sizeof ex);
        snprintf(text, sizeof text, "unexpected %.*s body: %s", tlen ? tlen : 8,
                 tlen ? resp->content_type : "non-JSON", ex);
        if (!err->error_code[0] && si)
            reason_code(si->reason, code, sizeof code), dbx_err_set_code(err, code, strlen(code));
    }

    if (resp->status == 401 || resp->status == 403 || (oauth && is_oauth_auth_error(err->error_code)))
        kind = DBX_EAUTH;
    else
        kind = DBX_EHTTP;
    hint = hint_for(resp->status, oauth);
    dbx_err_set(err, kind, "%s: %s%s%s", what, text, hint ? "; " : "", hint ? hint : "");
    return -1;
}
