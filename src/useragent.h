/* useragent.h — the connector-level User-Agent. The format is fixed by the
 * partner convention: "<isv>_<product>/<version>" first, then the connector's
 * own token and "lua/5.4 os/<os>" segments. The product a host application
 * sets lives with its Lua state (see l_core.c); this file validates and
 * formats, it keeps no state. */
#ifndef DBX_USERAGENT_H
#define DBX_USERAGENT_H

#include <stddef.h>

#include "err.h"

/* ^[A-Za-z0-9_.+-]+$ — what a product token part may contain. */
int dbx_ua_valid_name(const char *s);
/* Semantic version: MAJOR.MINOR.PATCH[-pre][+build], no leading zeros. */
int dbx_ua_valid_semver(const char *s);

/* Validates a host application's product; 0 or -1 with a config error that
 * names the bad argument and the rule. */
int dbx_ua_check_product(const char *isv, const char *product, const char *version, dbx_err *err);

/* Writes the User-Agent. isv/product/version may be NULL for the default
 * (the connector alone). Returns the length, or -1 if it did not fit. */
int dbx_ua_format(char *out, size_t n, const char *isv, const char *product, const char *version);

/* "linux", "darwin", ... (lower-case uname sysname). */
const char *dbx_ua_os(void);

#endif
