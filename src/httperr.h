/* httperr.h — turns an HTTP error response into a dbx_err, reading every
 * error body format Databricks uses: REST {"error_code","message"}, OAuth
 * {"error","error_description"} (RFC 6749), SCIM {"detail","status"}, the
 * older {"error": "..."} and non-JSON bodies (an HTML page from a proxy).
 * 401 and 403 are `auth` errors, and so are the OAuth grant errors; other
 * statuses are `http`. The message never contains a secret (redacted). */
#ifndef DBX_HTTPERR_H
#define DBX_HTTPERR_H

#include "err.h"
#include "http.h"
#include "json.h"

/* `what` names the operation ("POST /oidc/v1/token"). Always returns -1. */
int dbx_http_error(dbx_jsonenv *env, const dbx_http_response *resp, const char *what, dbx_err *err);

#endif
