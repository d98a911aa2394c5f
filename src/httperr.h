/* httperr.h — turns an HTTP error response into a dbx_err, reading every
 * error body shape Databricks uses, as the Databricks SDKs read them (Go
 * apierr, Python errors/deserializer.py):
 *   - REST {"error_code", "message", "details"}: error_code a string or a
 *     number (kept as its decimal text, "400"); details[] kept as JSON text
 *     (err.details in Lua);
 *   - OAuth {"error", "error_description"} (RFC 6749), and the older
 *     {"error": "sentence"} of API 1.2;
 *   - SCIM {"scimType", "detail", "status"}: message "scimType detail",
 *     error_code "SCIM_<status>" (detail "null" means "SCIM API Internal
 *     Error");
 *   - plain text "CODE: message" (CODE of A-Z and '_');
 *   - an empty body: the status's reason, error_code by status (404:
 *     NOT_FOUND, ...);
 *   - an HTML page (a proxy or gateway): its text as an excerpt, error_code
 *     from the status's reason phrase (502: BAD_GATEWAY);
 *   - the private-link redirect (3xx to /login.html?error=private-link-
 *     validation-error; the transport never follows redirects):
 *     PRIVATE_LINK_VALIDATION_ERROR, status 403 as the SDKs report it, with
 *     a message saying what it means.
 * 401 and 403 are `auth` errors, and so are the OAuth grant errors; other
 * statuses are `http`. The message never contains a secret or a control
 * character (err.c scrubs it). Pure apart from the JSON environment; fuzzed
 * (fuzz/fuzz_httperr.c). */
#ifndef DBX_HTTPERR_H
#define DBX_HTTPERR_H

#include "err.h"
#include "http.h"
#include "json.h"

/* `what` names the operation ("POST /oidc/v1/token"). Always returns -1. */
int dbx_http_error(dbx_jsonenv *env, const dbx_http_response *resp, const char *what, dbx_err *err);

/* 1 when a response is the private-link login redirect (a 3xx whose
 * Location is /login.html with error=private-link-validation-error). */
int dbx_http_is_private_link(const dbx_http_response *resp);

#endif
