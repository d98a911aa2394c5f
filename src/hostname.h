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

/* The warehouse id of "/sql/1.0/warehouses/<id>" (or the older
 * "/sql/1.0/endpoints/<id>"); returns its length and writes it, 0 when the
 * path is not a warehouse path. */
size_t dbx_warehouse_id_from_http_path(const char *path, char *out, size_t n);

/* The cluster id of "/sql/protocolv1/o/<workspace-id>/<cluster-id>"; same
 * contract. */
size_t dbx_cluster_id_from_http_path(const char *path, char *out, size_t n);

#endif
