/* ini.h — the ~/.databrickscfg format: [section] headers, "key = value" or
 * "key: value", '#' and ';' comment lines, indented continuation lines
 * (configparser), keys lower-cased, values trimmed; a key outside any
 * section, or a duplicate section or key, is an error with its line number.
 * On the value of a key line, as the Go SDK reads the file (gopkg.in/ini
 * with SpaceBeforeInlineComment): " #" — else " ;" — starts an inline
 * comment (a '#' without a space before it is part of the value, as
 * passwords may hold one), then one pair of matching quotes around the
 * whole value ("..." or '...', the quote not occurring inside) is removed.
 * Pure and fuzzed. */
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
