/* json.h — read access to JSON documents for the C core.
 *
 * The project has one JSON library, lua-cjson; the core reaches it through
 * the Lua state that called it (l_json.c implements this header). A decoded
 * document stays anchored in that state's registry until dbx_json_free, so
 * the strings returned here are valid until then. Paths are dot-separated
 * object keys ("status.error.message"); arrays are not indexed by path. */
#ifndef DBX_JSON_H
#define DBX_JSON_H

#include <stddef.h>

#include "buf.h"

/* Opaque: the Lua state that owns lua-cjson (a lua_State in disguise, so that
 * files outside the binding never include lua.h). */
typedef struct dbx_jsonenv dbx_jsonenv;
typedef struct dbx_json dbx_json;

/* Decodes s[0..n). NULL when it is not JSON or not an object (or no memory). */
dbx_json *dbx_json_decode(dbx_jsonenv *env, const char *s, size_t n);
/* The string at path, or NULL when missing or not a string. */
const char *dbx_json_string(const dbx_json *j, const char *path, size_t *len);
/* The number at path: 0, or -1 when missing or not a number. */
int dbx_json_number(const dbx_json *j, const char *path, double *out);
/* 1 when path exists (any type other than JSON null). */
int dbx_json_has(const dbx_json *j, const char *path);
/* The array or object at path, re-encoded as JSON text into out: 0, or -1
 * when missing, not an array/object, or not encodable (nothing appended). */
int dbx_json_raw(const dbx_json *j, const char *path, dbx_buf *out);
/* The boolean at path: 0, or -1 when missing or not a boolean. */
int dbx_json_bool(const dbx_json *j, const char *path, int *out);
/* The number of elements of the array at path (0 when missing, empty, or
 * not an array). */
size_t dbx_json_len(const dbx_json *j, const char *path);
/* Calls fn for every string-keyed member of the object at path (in no
 * particular order), with the value when it is a string and NULL (vn 0)
 * otherwise. fn returns 0 to go on, -1 to stop. Returns 0 when every call
 * returned 0 (also for a missing path: no members), -1 when one stopped. */
int dbx_json_each(const dbx_json *j, const char *path,
                  int (*fn)(void *ud, const char *k, size_t kn, const char *v, size_t vn), void *ud);
void dbx_json_free(dbx_json *j);

#endif
