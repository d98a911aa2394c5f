/* hostname.h — workspace host normalisation and HTTP-path parsing: pure
 * string functions (fuzzed) used by config validation. */
#ifndef DBX_HOSTNAME_H
#define DBX_HOSTNAME_H

#include <stddef.h>

#include "err.h"

/* "x.cloud.databricks.com/path?q" -> "https://x.cloud.databricks.com".
 * Adds https:// when there is no scheme; keeps scheme, host (lower-cased) and
 * a non-default port; drops user-info (refused: credentials do not belong in
 * a host), path, query, fragment and trailing '/'. Only https is accepted
 * (http only for loopback hosts, for local proxies and tests).
 * Returns 0 and writes out, or -1 with a config error. */
int dbx_normalize_host(const char *in, char *out, size_t n, dbx_err *err);

/* The workspace id a workspace URL carries in its query, the way the Go SDK
 * reads it: ?w= (any identifier), else a numeric ?o= or ?workspace_id=.
 * Writes it (percent-decoded) and returns its length; 0 when there is none.
 * Only the characters of an identifier ([A-Za-z0-9._:-]) are accepted: the
 * value becomes the X-Databricks-Workspace-Id header. -1 (config error)
 * when the query names one that is not usable. */
int dbx_host_workspace_id(const char *in, char *out, size_t n, dbx_err *err);

/* 1 when a normalised host is an account console host (https://accounts.*
 * or https://accounts-dod.*), whose OAuth endpoints need the account id. */
int dbx_host_is_account(const char *normalised);

/* 1 when s is a usable identifier for a header or a path segment:
 * non-empty, at most `max` bytes, only [A-Za-z0-9._:-]. */
int dbx_ident_valid(const char *s, size_t max);

/* The warehouse id of "/sql/1.0/warehouses/<id>" (or the older
 * "/sql/1.0/endpoints/<id>"); returns its length and writes it, 0 when the
 * path is not a warehouse path. */
size_t dbx_warehouse_id_from_http_path(const char *path, char *out, size_t n);

/* The cluster id of "/sql/protocolv1/o/<workspace-id>/<cluster-id>"; same
 * contract. Like the SDKs, HTTP paths are also accepted without their
 * leading '/' ("sql/1.0/warehouses/<id>", "sql/protocolv1/o/..."). */
size_t dbx_cluster_id_from_http_path(const char *path, char *out, size_t n);

#endif
