/* fuzz_chunk.c — libFuzzer driver for the body of an EXTERNAL_LINKS result
 * chunk as cloud storage sends it (src/chunk.c dbx_chunk_split) and for the
 * typed values read out of it (src/rows.c dbx_value_parse). Both read bytes
 * a server chose.
 *
 * The input's first byte picks the batch limits (bytes 16..4111, rows
 * 1..16); the rest is the chunk body (exact-size copy). Checked:
 *  - split either fails with a terminated protocol error naming a byte
 *    offset inside the body, or succeeds with batches in order, each a run
 *    of whole rows starting with '[' and ending with ']', within its limits,
 *    strictly inside the body (so the binding's "[" batch "]" trick never
 *    writes outside it), together holding every row counted;
 *  - agreement with lua-cjson: when cjson decodes the whole body as an array
 *    of arrays, the split succeeds with as many rows; when the split
 *    succeeds, every batch cjson accepts decodes to exactly its rows (not
 *    for a body with a NUL byte: lua-cjson stops reading at one, so it
 *    accepts "[[1]]\0junk", which the split rightly refuses);
 *  - with a column count (1..8, from the first byte), the split succeeds
 *    only when every row cjson decodes holds exactly that many values;
 *  - every top-level value of the body, parsed as each column type: an
 *    accepted DOUBLE equals strtod bit for bit, an accepted integer is in
 *    its type's range and prints back as the text it came from (modulo a
 *    '+' and leading zeros), an accepted BOOLEAN is true or false;
 *  - the Lua stack of the JSON environment is balanced.
 *
 * Run: fuzz/run.sh chunk. Replayed by spec/c/fuzz_chunk_corpus.c. */
#define DBX_FUZZ_WANT_JSON 1
#include "fuzz_common.h"

#include <limits.h>
#include <math.h>

#include "chunk.h"
#include "l_util.h"
#include "rows.h"

/* 1 when the table at the top holds only array elements 1..#t, 0 when it
 * has another key (a JSON object), -1 when it is empty ({} or []: cjson
 * decodes both to an empty table). */
static int array_kind(lua_State *L)
{
    size_t len = (size_t)lua_rawlen(L, -1), keys = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        keys++;
        if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || (size_t)lua_tointeger(L, -2) > len) {
            lua_pop(L, 2);
            return 0;
        }
        lua_pop(L, 1);
    }
    return keys == 0 ? -1 : 1;
}

/* The array-of-arrays shape and its row count, as cjson sees it (-1: not
 * that shape, or not JSON; -2: cannot tell, an empty table is in it). */
static long cjson_rows(const char *s, size_t n)
{
    lua_State *L = fuzz_L;
    long rows = -1;
    if (dbx_l_json_decode_push(L, s, n) != 0)
        return -1;
    if (lua_istable(L, -1)) {
        int kind = array_kind(L);
        size_t len = (size_t)lua_rawlen(L, -1);
        rows = kind == 0 ? -1 : (long)len;
        for (size_t i = 1; rows != -1 && i <= len; i++) {
            if (lua_rawgeti(L, -1, (lua_Integer)i) != LUA_TTABLE) {
                rows = -1;
            } else {
                int k = array_kind(L);
                if (k == 0)
                    rows = -1;
                else if (k < 0)
                    rows = -2;
            }
            lua_pop(L, 1);
        }
        if (kind < 0 && rows >= 0)
            rows = -2;
    }
    lua_pop(L, 1);
    return rows;
}

/* Every row cjson decodes from the body holds exactly n values. */
static int every_row_has(const char *s, size_t len, size_t n)
{
    lua_State *L = fuzz_L;
    int ok = 1;
    if (dbx_l_json_decode_push(L, s, len) != 0)
        return 0;
    for (size_t r = 1; r <= (size_t)lua_rawlen(L, -1); r++) {
        lua_rawgeti(L, -1, (lua_Integer)r);
        if ((size_t)lua_rawlen(L, -1) != n)
            ok = 0;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return ok;
}

static void check_value(const char *s, size_t n)
{
    static const dbx_coltype types[] = {DBX_COL_BYTE, DBX_COL_SHORT, DBX_COL_INT, DBX_COL_LONG, DBX_COL_FLOAT,
                                        DBX_COL_DOUBLE, DBX_COL_BOOLEAN, DBX_COL_DECIMAL, DBX_COL_STRING};
    char *z = fuzz_cstr((const uint8_t *)s, n);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        dbx_value v;
        memset(&v, 0, sizeof v);
        if (dbx_value_parse(types[i], 0, s, n, &v) != 0)
            continue;
        switch (types[i]) {
        case DBX_COL_FLOAT:
        case DBX_COL_DOUBLE: {
            char *end;
            double want;
            CHECK(v.kind == DBX_VAL_FLOAT);
            if (strlen(z) != n)
                break;
            want = strtod(z, &end);
            if (end == z + n && !isnan(want))
                CHECK(memcmp(&want, &v.d, sizeof want) == 0);
            break;
        }
        case DBX_COL_BYTE:
            CHECK(v.kind == DBX_VAL_INTEGER && v.i >= -128 && v.i <= 127);
            break;
        case DBX_COL_SHORT:
            CHECK(v.kind == DBX_VAL_INTEGER && v.i >= -32768 && v.i <= 32767);
            break;
        case DBX_COL_INT:
            CHECK(v.kind == DBX_VAL_INTEGER && v.i >= INT_MIN && v.i <= INT_MAX);
            break;
        case DBX_COL_LONG: {
            char buf[32];
            const char *digits = z + (z[0] == '+' || z[0] == '-');
            CHECK(v.kind == DBX_VAL_INTEGER);
            while (digits[0] == '0' && digits[1])
                digits++;
            if (v.i >= 0) {
                snprintf(buf, sizeof buf, "%lld", v.i);
                CHECK(strcmp(buf, digits) == 0);
            }
            break;
        }
        case DBX_COL_BOOLEAN:
            CHECK(v.kind == DBX_VAL_BOOLEAN && (v.i == 0 || v.i == 1));
            break;
        default:
            CHECK(v.kind == DBX_VAL_STRING);
            break;
        }
    }
    free(z);
}

/* Each string value inside a cjson-decoded body, parsed as every type. */
static void check_values(const char *s, size_t n)
{
    lua_State *L = fuzz_L;
    if (dbx_l_json_decode_push(L, s, n) != 0)
        return;
    if (lua_istable(L, -1)) {
        size_t rows = (size_t)lua_rawlen(L, -1);
        for (size_t r = 1; r <= rows && r <= 64; r++) {
            if (lua_rawgeti(L, -1, (lua_Integer)r) == LUA_TTABLE) {
                size_t cols = (size_t)lua_rawlen(L, -1);
                for (size_t c = 1; c <= cols && c <= 64; c++) {
                    if (lua_rawgeti(L, -1, (lua_Integer)c) == LUA_TSTRING) {
                        size_t len;
                        const char *v = lua_tolstring(L, -1, &len);
                        check_value(v, len);
                    }
                    lua_pop(L, 1);
                }
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest;
    size_t n, batch_bytes, batch_rows, seen = 0, prev_end = 0;
    dbx_chunk_index x = {0};
    dbx_err err;
    char *body;
    long want;
    int rc;
    fuzz_jsonenv();
    if (size == 0)
        return 0;
    batch_bytes = 16 + (size_t)(data[0] & 0x3f) * 64;
    batch_rows = 1 + (size_t)(data[0] >> 6) * 5;
    fuzz_take(data, size, 1, &rest, &n);
    body = fuzz_exact(rest, n);
    dbx_err_clear(&err);
    rc = dbx_chunk_split(body, n, batch_bytes, batch_rows, 0, &x, &err);
    want = memchr(body, '\0', n) ? -2 : cjson_rows(body, n);
    if (rc != 0) {
        CHECK(err.kind == DBX_EPROTOCOL);
        CHECK(memchr(err.message, '\0', sizeof err.message) != NULL);
        CHECK(strstr(err.message, "at byte ") != NULL);
        CHECK(want == -1 || want == -2);
    } else {
        if (want >= 0)
            CHECK((size_t)want == x.rows);
        for (size_t i = 0; i < x.nspans; i++) {
            const dbx_batch_span *s = &x.spans[i];
            long got;
            CHECK(s->rows >= 1 && s->rows <= batch_rows);
            CHECK(s->len >= 2 && s->off >= 1 && s->off >= prev_end && s->off + s->len < n);
            CHECK(body[s->off] == '[' && body[s->off + s->len - 1] == ']');
            /* "[" batch "]": what the binding hands lua-cjson */
            {
                char *wrapped = malloc(s->len + 2);
                CHECK(wrapped != NULL);
                wrapped[0] = '[';
                memcpy(wrapped + 1, body + s->off, s->len);
                wrapped[s->len + 1] = ']';
                got = cjson_rows(wrapped, s->len + 2);
                if (got >= 0)
                    CHECK((size_t)got == s->rows);
                free(wrapped);
            }
            prev_end = s->off + s->len;
            seen += s->rows;
        }
        CHECK(seen == x.rows);
        check_values(body, n);
        if (want >= 0) {
            size_t ncols = 1 + (data[0] & 7);
            dbx_chunk_index y = {0};
            dbx_err e2;
            dbx_err_clear(&e2);
            if (dbx_chunk_split(body, n, batch_bytes, batch_rows, ncols, &y, &e2) == 0)
                CHECK(every_row_has(body, n, ncols));
            else
                CHECK(!every_row_has(body, n, ncols));
            dbx_chunk_index_free(&y);
        }
    }
    dbx_chunk_index_free(&x);
    fuzz_free_exact(body, n);
    fuzz_json_done();
    return 0;
}
