/* httperr.c — error responses into dbx_err (see httperr.h). */
#include "httperr.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

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

int dbx_http_error(dbx_jsonenv *env, const dbx_http_response *resp, const char *what, dbx_err *err)
{
    const char *body = dbx_buf_str(&resp->body);
    const char *code = NULL, *msg = NULL, *hint;
    size_t code_len = 0, msg_len = 0;
    dbx_json *j = resp->body.len ? dbx_json_decode(env, body, resp->body.len) : NULL;
    int oauth = 0;
    char text[600];
    dbx_kind kind;

    err->status = resp->status;
    err->retry_after = resp->retry_after;
    if (resp->request_id[0])
        dbx_err_set_request_id(err, resp->request_id, strlen(resp->request_id));

    if (j) {
        if ((code = dbx_json_string(j, "error_code", &code_len))) {
            msg = dbx_json_string(j, "message", &msg_len);
        } else if ((code = dbx_json_string(j, "error", &code_len))) {
            msg = dbx_json_string(j, "error_description", &msg_len);
            oauth = msg != NULL || is_oauth_auth_error(code);
            if (!msg && !oauth) {
                /* {"error": "Some sentence"} from older APIs. */
                msg = code, msg_len = code_len, code = NULL;
            }
        } else if ((msg = dbx_json_string(j, "detail", &msg_len))) {
            /* SCIM */
        } else {
            msg = dbx_json_string(j, "message", &msg_len);
        }
    }
    if (code)
        dbx_err_set_code(err, code, code_len);
    if (msg) {
        snprintf(text, sizeof text, "%.*s", (int)(msg_len < 500 ? msg_len : 500), msg);
    } else if (resp->body.len) {
        char ex[200];
        /* The media type without parameters ("text/html", not "; charset"). */
        int tlen = (int)strcspn(resp->content_type, "; ");
        excerpt(body, resp->body.len, ex, sizeof ex);
        snprintf(text, sizeof text, "unexpected %.*s body: %s", tlen ? tlen : 8,
                 tlen ? resp->content_type : "non-JSON", ex);
    } else {
        snprintf(text, sizeof text, "empty response body");
    }
    dbx_json_free(j);

    if (resp->status == 401 || resp->status == 403 || (oauth && code && is_oauth_auth_error(err->error_code)))
        kind = DBX_EAUTH;
    else
        kind = DBX_EHTTP;
    hint = hint_for(resp->status, oauth);
    dbx_err_set(err, kind, "%s: %s%s%s", what, text, hint ? "; " : "", hint ? hint : "");
    return -1;
}
