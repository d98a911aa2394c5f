/* ini.h — the ~/.databrickscfg format, read the way the Python SDK's
 * configparser reads it: [section] headers, "key = value" or "key: value",
 * '#' and ';' comment lines, indented continuation lines, keys lower-cased,
 * values trimmed; a key outside any section, or a duplicate section or key,
 * is an error with its line number. Pure and fuzzed. */
#ifndef DBX_INI_H
#define DBX_INI_H

#include <stddef.h>

#include "err.h"

/* Called for each section header (key == NULL) and each complete key/value
 * (after continuation lines are joined with '\n'). Return 0 or -1 (stop;
 * the callback sets err). */
typedef int (*dbx_ini_cb)(void *ud, const char *section, const char *key, const char *value, int line,
                          dbx_err *err);

int dbx_ini_parse(const char *text, size_t n, dbx_ini_cb cb, void *ud, dbx_err *err);

#endif
