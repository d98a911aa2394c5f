/* rows.h — the typed values of a result (DESIGN.md §6, `typed = true`): which
 * Lua type each SQL column type becomes, and the parsing of one value as the
 * Statement Execution API renders it in JSON_ARRAY results (every non-null
 * value is a string). Pure functions: no allocation, no Lua, no clock, no
 * locale dependence (a host application that set LC_NUMERIC to a locale with
 * a decimal comma gets the same numbers), so the fuzz driver and the binding
 * (l_statement.c, which builds the row tables) share them.
 *
 *   BYTE/SHORT/INT/LONG -> integer (range-checked per type)
 *   FLOAT/DOUBLE        -> float (also NaN, Infinity, -Infinity)
 *   BOOLEAN             -> boolean ("true"/"false")
 *   DECIMAL             -> string, checked to be a decimal number (exact);
 *                          float when the caller asks for decimal = "number"
 *   anything else       -> the string as it came
 * A value that does not parse as its type is refused (-1): the caller turns
 * that into a protocol error naming the column. Never logs anything. */
#ifndef DBX_ROWS_H
#define DBX_ROWS_H

#include <stddef.h>

typedef enum dbx_coltype {
    DBX_COL_STRING = 0, /* also DATE, TIMESTAMP, INTERVAL, BINARY, ARRAY, MAP, STRUCT, ... */
    DBX_COL_BYTE,
    DBX_COL_SHORT,
    DBX_COL_INT,
    DBX_COL_LONG,
    DBX_COL_FLOAT,
    DBX_COL_DOUBLE,
    DBX_COL_BOOLEAN,
    DBX_COL_DECIMAL
} dbx_coltype;

typedef enum dbx_valkind {
    DBX_VAL_STRING = 0, /* keep the text as it is */
    DBX_VAL_INTEGER,
    DBX_VAL_FLOAT,
    DBX_VAL_BOOLEAN
} dbx_valkind;

typedef struct dbx_value {
    dbx_valkind kind;
    long long i; /* DBX_VAL_INTEGER; DBX_VAL_BOOLEAN: 0 or 1 */
    double d;    /* DBX_VAL_FLOAT */
} dbx_value;

/* The column type of a manifest's type_name ("INT", "DECIMAL", ...; exact,
 * upper case as the API sends it). Unknown names are strings. */
dbx_coltype dbx_coltype_of(const char *type_name, size_t n);

/* A short name for messages ("INT", "DOUBLE", ...). */
const char *dbx_coltype_name(dbx_coltype t);

/* Parses s[0..n) (not NUL-terminated) as a value of type t. decimal_number:
 * DECIMAL becomes a float. 0 with *out set, or -1 when the text is not a
 * value of that type (an integer out of the type's range included). */
int dbx_value_parse(dbx_coltype t, int decimal_number, const char *s, size_t n, dbx_value *out);

#endif
