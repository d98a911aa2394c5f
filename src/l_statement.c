/***
A statement started by `client:execute`: wait for it, read its columns, stream
its rows, or take them all; cancel or close it. Closing (also by `__close` and
`__gc`) cancels a statement that has not finished and stops its downloads.

`st.id` is the statement id. Every method returns one value on success and
`nil, err` on failure (the error also carries `statement_id`), except the row
iterator, which raises the error table (so `pcall` gets `kind`, `status`, ...).
@module databricks.statement
*/

/* l_statement.c — the statement object: a userdata holding the core's
 * dbx_stmt (statement.c) and its result fetch (fetch.c), with uservalues
 * for what lives in Lua: the client it belongs to (kept alive by it), the
 * on_progress function, the rows of chunk 0 that came with the answer, the
 * batch of rows being handed out, the columns, and its call guard.
 *
 * Rows: each batch of a chunk (chunk.h) is decoded by lua-cjson in one call
 * and typed here, in C, in the same pass that checks the rows' shape —
 * while the download thread fetches the chunks after it. The batch text is
 * turned into a Lua string in place: the two bytes around it become '['
 * and ']' for the copy and are put back (one copy of each byte, none for
 * the brackets). The row iterator's common case touches no client: it
 * takes the next row of the batch.
 *
 * Re-entry: on_progress and on_tokens run Lua code in the middle of a
 * method; a statement method called from there raises instead of
 * corrupting the fetch (the guard clears the flag however the method ends). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "fetch.h"
#include "l_client.h"
#include "l_util.h"
#include "rows.h"
#include "statement.h"
#include "timeutil.h"

#define STMT_MT "databricks.statement"
#define GUARD_MT "databricks.statement.call"

enum { UV_CLIENT = 1, UV_PROGRESS, UV_FIRST, UV_BATCH, UV_COLUMNS, UV_GUARD, UV_COUNT = UV_GUARD };

typedef struct lstmt {
    dbx_stmt st;
    dbx_fetch *fetch;
    dbx_fetch_opts fo;
    int typed, decimal_number;
    int busy, closed, exhausted;
    size_t *typed_cols; /* columns converted (0-based), when typed */
    size_t ntyped;
    size_t pos, len;         /* rows handed out of the batch, rows in it */
    long long rows_before;   /* rows of the result before the batch */
    long long progress_done; /* chunks last reported to on_progress (-1: none) */
    double progress_at;
    int max_parallel;        /* downloads that ran at once (kept after the fetch is freed) */
    double t_links, t_wait;  /* the fetch's times (kept likewise) */
} lstmt;

static lstmt *to_stmt(lua_State *L, int idx)
{
    lstmt *s = luaL_checkudata(L, idx, STMT_MT);
    if (s->closed)
        luaL_error(L, "attempt to use a closed databricks statement");
    return s;
}

/* ---- errors --------------------------------------------------------------------- */

static void push_err(lua_State *L, const lstmt *s, const dbx_err *e)
{
    dbx_l_pusherr(L, e);
    if (s->st.id[0]) {
        lua_pushstring(L, s->st.id);
        lua_setfield(L, -2, "statement_id");
    }
}

static int fail(lua_State *L, const lstmt *s, const dbx_err *e)
{
    lua_pushnil(L);
    push_err(L, s, e);
    return 2;
}

static int raise(lua_State *L, const lstmt *s, const dbx_err *e)
{
    push_err(L, s, e);
    return lua_error(L);
}

/* ---- calls ------------------------------------------------------------------------- */

static int guard_close(lua_State *L)
{
    lstmt **g = luaL_checkudata(L, 1, GUARD_MT);
    if (*g)
        (*g)->busy = 0;
    return 0;
}

/* Starts a method call on the statement at `sti`: its client's call (the
 * client pushed, then its guard), then the statement's own guard. */
static dbx_lclient *enter(lua_State *L, int sti, lstmt *s, dbx_lctx *x)
{
    dbx_lclient *u;
    if (s->busy)
        luaL_error(L, "a databricks statement was used from inside one of its own calls (an on_progress or "
                      "on_tokens callback): use it after that call returns");
    lua_getiuservalue(L, sti, UV_CLIENT);
    u = dbx_l_client_begin_at(L, lua_gettop(L), x);
    lua_getiuservalue(L, sti, UV_GUARD);
    s->busy = 1;
    lua_toclose(L, -1);
    return u;
}

/* ---- the statement's state ------------------------------------------------------------- */

/* Which columns a typed statement converts. */
static int prepare_types(lstmt *s)
{
    const dbx_manifest *m = &s->st.manifest;
    free(s->typed_cols);
    s->typed_cols = NULL;
    s->ntyped = 0;
    if (!s->typed || m->ncols == 0)
        return 0;
    if (!(s->typed_cols = malloc(m->ncols * sizeof *s->typed_cols)))
        return -1;
    for (size_t i = 0; i < m->ncols; i++)
        if (m->cols[i].type != DBX_COL_STRING)
            s->typed_cols[s->ntyped++] = i;
    return 0;
}

/* The rows that came with an answer (chunk 0): kept in Lua until read. */
static void take_answer(lua_State *L, int sti, lstmt *s, dbx_json *answer)
{
    if (!answer)
        return;
    dbx_l_json_push(L, answer, "result.data_array");
    lua_setiuservalue(L, sti, UV_FIRST);
    dbx_json_free(answer);
    (void)s;
}

static int after_answer(lua_State *L, int sti, lstmt *s, dbx_json *answer, dbx_err *err)
{
    take_answer(L, sti, s, answer);
    if (s->st.have_result && !s->typed_cols && s->typed && prepare_types(s) != 0)
        return dbx_err_set(err, DBX_EIO, "out of memory");
    return 0;
}

/* Waits for the statement (until the monotonic time `until`). */
static int wait_for(lua_State *L, int sti, lstmt *s, dbx_lclient *u, dbx_lctx *x, double until, dbx_err *err)
{
    dbx_json *answer = NULL;
    int rc = dbx_stmt_wait(u->c, &x->base, &s->st, until, &answer, err);
    if (after_answer(L, sti, s, answer, err) != 0)
        return -1;
    return rc;
}

/* ---- rows ------------------------------------------------------------------------------ */

static int row_error(dbx_err *err, const lstmt *s, long long chunk, size_t i, const char *fmt, const char *what)
{
    dbx_err_set(err, DBX_EPROTOCOL, "row %lld (in result chunk %lld): %s%s", s->rows_before + (long long)i, chunk,
                fmt, what ? what : "");
    return -1;
}

/* Checks and types the `n` rows of the batch table at the top. `shaped`:
 * the download thread already checked that every row is an array of ncols
 * values (chunk.c), so only typed columns need a look. */
static int convert(lua_State *L, lstmt *s, size_t n, long long chunk, int shaped, dbx_err *err)
{
    const dbx_manifest *m = &s->st.manifest;
    int tbl = lua_gettop(L);
    if (shaped && s->ntyped == 0)
        return 0; /* untyped rows straight from lua-cjson: nothing to do */
    for (size_t i = 1; i <= n; i++) {
        if (lua_rawgeti(L, tbl, (lua_Integer)i) != LUA_TTABLE)
            return row_error(err, s, chunk, i, "it is not an array of values", NULL);
        if (!shaped && m->ncols && lua_rawlen(L, -1) != m->ncols) {
            dbx_err_set(err, DBX_EPROTOCOL, "row %lld (in result chunk %lld) has %zu values, the result has %zu columns",
                        s->rows_before + (long long)i, chunk, (size_t)lua_rawlen(L, -1), m->ncols);
            return -1;
        }
        for (size_t k = 0; k < s->ntyped; k++) {
            size_t col = s->typed_cols[k], len;
            const dbx_column *c = &m->cols[col];
            const char *v;
            dbx_value val;
            int t = lua_rawgeti(L, -1, (lua_Integer)col + 1);
            if (t != LUA_TSTRING) {
                lua_pop(L, 1);
                if (t == LUA_TLIGHTUSERDATA)
                    continue; /* JSON null: databricks.null */
                dbx_err_set(err, DBX_EPROTOCOL, "row %lld (in result chunk %lld): the value of column '%s' (%s) is not "
                            "a string or null", s->rows_before + (long long)i, chunk, c->name, c->type_name);
                return -1;
            }
            v = lua_tolstring(L, -1, &len);
            if (dbx_value_parse(c->type, s->decimal_number, v, len, &val) != 0) {
                dbx_err_set(err, DBX_EPROTOCOL, "row %lld (in result chunk %lld): the value of column '%s' is not a %s",
                            s->rows_before + (long long)i, chunk, c->name, c->type_name);
                return -1;
            }
            lua_pop(L, 1);
            switch (val.kind) {
            case DBX_VAL_INTEGER:
                lua_pushinteger(L, (lua_Integer)val.i);
                break;
            case DBX_VAL_FLOAT:
                lua_pushnumber(L, (lua_Number)val.d);
                break;
            case DBX_VAL_BOOLEAN:
                lua_pushboolean(L, (int)val.i);
                break;
            case DBX_VAL_STRING:
            default:
                continue; /* a checked DECIMAL stays the exact string */
            }
            lua_rawseti(L, -2, (lua_Integer)col + 1);
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* Pushes the rows of a text batch as a table, or -1. */
static int decode_text(lua_State *L, const dbx_batch *b, dbx_err *err)
{
    /* The bytes around the batch are a separator or the chunk's own
     * bracket: '[' and ']' for the copy, then put back. The chunk body is
     * ours (fetch.c hands it out until the next batch). */
    char *text = (char *)b->text, before = text[-1], after = text[b->len];
    size_t n;
    text[-1] = '[';
    text[b->len] = ']';
    lua_pushlstring(L, text - 1, b->len + 2);
    text[-1] = before;
    text[b->len] = after;
    if (dbx_l_json_decode_top(L) != 0)
        return dbx_err_set(err, DBX_EPROTOCOL, "result chunk %lld is not valid JSON (a batch of %zu rows)", b->chunk,
                           b->rows);
    n = lua_istable(L, -1) ? (size_t)lua_rawlen(L, -1) : 0;
    if (!lua_istable(L, -1) || n != b->rows) {
        lua_pop(L, 1);
        return dbx_err_set(err, DBX_EPROTOCOL, "result chunk %lld: a batch of %zu rows decoded as %zu", b->chunk,
                           b->rows, n);
    }
    return 0;
}

/* Reports progress (chunks done / total) at most ~10 times a second and at
 * the end. The callback's error becomes an io error. */
static int progress(lua_State *L, int sti, lstmt *s, long long done, long long total, int last, dbx_err *err)
{
    double now;
    if (done == s->progress_done)
        return 0;
    now = dbx_monotonic();
    if (!last && now - s->progress_at < 0.1)
        return 0;
    if (lua_getiuservalue(L, sti, UV_PROGRESS) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return 0;
    }
    s->progress_done = done;
    s->progress_at = now;
    lua_pushinteger(L, (lua_Integer)done);
    if (total >= 0)
        lua_pushinteger(L, (lua_Integer)total);
    else
        lua_pushnil(L);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        dbx_err_set(err, DBX_EIO, "on_progress callback failed: %s",
                    lua_tostring(L, -1) ? lua_tostring(L, -1) : "error object is not a string");
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

/* Makes the next non-empty batch the current one (the table in UV_BATCH):
 * 1, 0 at the end of the result, -1 with an error. The statement has
 * SUCCEEDED. */
static int next_batch(lua_State *L, int sti, lstmt *s, dbx_lclient *u, dbx_lctx *x, dbx_err *err)
{
    s->rows_before += (long long)s->len;
    s->pos = s->len = 0;
    lua_pushnil(L);
    lua_setiuservalue(L, sti, UV_BATCH); /* the old batch can go */
    if (!s->fetch && !(s->fetch = dbx_fetch_new(&s->st, &s->fo, err)))
        return -1;
    for (;;) {
        dbx_batch b;
        size_t n;
        int rc = dbx_fetch_next(s->fetch, u->c, &x->base, &b, err);
        if (rc < 0)
            return -1;
        if (progress(L, sti, s, b.chunks_done, b.chunks_total, rc == 0, err) != 0) {
            if (b.kind == DBX_BATCH_ANSWER)
                dbx_json_free(b.answer);
            return -1;
        }
        if (rc == 0) {
            /* The last row is out: the download thread and the window's
             * mappings go now, not when the statement is collected. */
            s->exhausted = 1;
            s->max_parallel = dbx_fetch_max_parallel(s->fetch);
            dbx_fetch_times(s->fetch, &s->t_links, &s->t_wait);
            dbx_fetch_free(s->fetch);
            s->fetch = NULL;
            return 0;
        }
        switch (b.kind) {
        case DBX_BATCH_TEXT:
            if (decode_text(L, &b, err) != 0)
                return -1;
            break;
        case DBX_BATCH_FIRST:
            lua_getiuservalue(L, sti, UV_FIRST);
            lua_pushnil(L);
            lua_setiuservalue(L, sti, UV_FIRST);
            break;
        case DBX_BATCH_ANSWER:
        default:
            dbx_l_json_push(L, b.answer, "data_array");
            dbx_json_free(b.answer);
            break;
        }
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            return dbx_err_set(err, DBX_EPROTOCOL, "result chunk %lld: data_array is not an array of rows", b.chunk);
        }
        n = (size_t)lua_rawlen(L, -1);
        if (b.row_count >= 0 && (long long)n != b.row_count) {
            lua_pop(L, 1);
            return dbx_err_set(err, DBX_EPROTOCOL, "result chunk %lld holds %zu rows, its description said %lld",
                               b.chunk, n, b.row_count);
        }
        if (convert(L, s, n, b.chunk, b.kind == DBX_BATCH_TEXT, err) != 0)
            return -1; /* what is left on the stack goes with the call */
        if (n == 0) {
            lua_pop(L, 1);
            continue;
        }
        lua_setiuservalue(L, sti, UV_BATCH);
        s->len = n;
        return 1;
    }
}

/* Gets the statement to SUCCEEDED for reading rows (raising nothing). */
static int ready(lua_State *L, int sti, lstmt *s, dbx_lclient *u, dbx_lctx *x, dbx_err *err)
{
    if (s->st.ended && strcmp(s->st.state, "SUCCEEDED") == 0)
        return 0;
    return wait_for(L, sti, s, u, x, s->st.deadline, err);
}

/* The row iterator's slow path: a new batch (or the first one). */
static int rows_next(lua_State *L)
{
    int sti;
    lstmt *s;
    dbx_lclient *u;
    dbx_lctx x;
    dbx_err err;
    int rc;
    lua_settop(L, 0);
    lua_pushvalue(L, lua_upvalueindex(1));
    sti = 1;
    s = to_stmt(L, sti);
    if (s->exhausted)
        return 0;
    u = enter(L, sti, s, &x);
    dbx_err_clear(&err);
    if (ready(L, sti, s, u, &x, &err) != 0)
        return raise(L, s, &err);
    rc = next_batch(L, sti, s, u, &x, &err);
    if (rc < 0)
        return raise(L, s, &err);
    if (rc == 0)
        return 0;
    lua_getiuservalue(L, sti, UV_BATCH);
    lua_rawgeti(L, -1, (lua_Integer)++s->pos);
    return 1;
}

/* The row iterator (the statement is its upvalue). Its common case is one
 * table read: the next row of the batch, no check beyond "still inside the
 * batch of an open statement" (closing empties the batch). */
static int rows_iter(lua_State *L)
{
    lstmt *s = lua_touserdata(L, lua_upvalueindex(1));
    if (s->pos < s->len) {
        lua_getiuservalue(L, lua_upvalueindex(1), UV_BATCH);
        lua_rawgeti(L, -1, (lua_Integer)++s->pos);
        return 1;
    }
    return rows_next(L);
}

/* ---- methods ------------------------------------------------------------------------------ */

/***
 * The statement's state, asking the workspace when it has not finished.
 * @function Statement:status
 * @return "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED" or "CLOSED"; or nil and an error
 */
static int l_status(lua_State *L)
{
    lstmt *s = to_stmt(L, 1);
    dbx_json *answer = NULL;
    dbx_lclient *u;
    dbx_lctx x;
    dbx_err err;
    lua_settop(L, 1);
    u = enter(L, 1, s, &x);
    dbx_err_clear(&err);
    if (dbx_stmt_refresh(u->c, &x.base, &s->st, &answer, &err) != 0 || after_answer(L, 1, s, answer, &err) != 0)
        return fail(L, s, &err);
    lua_pushstring(L, s->st.state);
    return 1;
}

/***
 * Waits until the statement has finished, polling with growing pauses. When
 * the statement's own `timeout` passes it is cancelled.
 * @function Statement:wait
 * @tparam[opt] table opts `timeout` (seconds to wait now; default: until the statement's timeout)
 * @return true once SUCCEEDED; or nil and an error (kind "sql" when it failed or was
 * cancelled, "timeout" when the wait ran out)
 */
static int l_wait(lua_State *L)
{
    lstmt *s = to_stmt(L, 1);
    double until = s->st.deadline, t;
    dbx_lclient *u;
    dbx_lctx x;
    dbx_err err;
    lua_settop(L, 2);
    if (!lua_isnil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        t = dbx_l_optnumber(L, 2, "timeout", -1);
        if (t >= 0)
            until = dbx_monotonic() + t;
    }
    u = enter(L, 1, s, &x);
    dbx_err_clear(&err);
    if (wait_for(L, 1, s, u, &x, until, &err) != 0)
        return fail(L, s, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static void push_columns(lua_State *L, const dbx_manifest *m)
{
    lua_createtable(L, (int)m->ncols, 0);
    for (size_t i = 0; i < m->ncols; i++) {
        const dbx_column *c = &m->cols[i];
        lua_createtable(L, 0, 6);
        lua_pushstring(L, c->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, c->type_name);
        lua_setfield(L, -2, "type_name");
        if (c->type_text) {
            lua_pushstring(L, c->type_text);
            lua_setfield(L, -2, "type_text");
        }
        lua_pushinteger(L, c->position >= 0 ? c->position : (lua_Integer)i);
        lua_setfield(L, -2, "position");
        if (c->precision >= 0) {
            lua_pushinteger(L, c->precision);
            lua_setfield(L, -2, "type_precision");
        }
        if (c->scale >= 0) {
            lua_pushinteger(L, c->scale);
            lua_setfield(L, -2, "type_scale");
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* Pushes the column list (built once, then the same table). */
static void push_cached_columns(lua_State *L, int sti, lstmt *s)
{
    if (lua_getiuservalue(L, sti, UV_COLUMNS) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    push_columns(L, &s->st.manifest);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, sti, UV_COLUMNS);
}

/***
 * The result's columns (waits for the statement first).
 * @function Statement:columns
 * @return `{{name=, type_name=, type_text=, position=, type_precision=, type_scale=}, ...}`,
 * or nil and an error
 */
static int l_columns(lua_State *L)
{
    lstmt *s = to_stmt(L, 1);
    dbx_lclient *u;
    dbx_lctx x;
    dbx_err err;
    lua_settop(L, 1);
    u = enter(L, 1, s, &x);
    dbx_err_clear(&err);
    if (ready(L, 1, s, u, &x, &err) != 0)
        return fail(L, s, &err);
    push_cached_columns(L, 1, s);
    return 1;
}

/***
 * An iterator over the result's rows, one at a time, streaming: with
 * EXTERNAL_LINKS the next chunks download in parallel while the rows of the
 * current one are read, so memory stays bounded by the prefetch window
 * whatever the result's size. Waits for the statement first. Rows are arrays
 * of values (typed as `execute` was told; SQL NULL is `databricks.null`).
 * An error (the statement failed, a download failed, a malformed chunk, a
 * value that is not of its column's type) raises the error table.
 * Iterators of one statement share its position.
 * @function Statement:rows
 * @tparam[opt] table opts `on_progress` (function(chunks_done, chunks_total), at most ~10 times a second)
 * @return the iterator
 * @usage for row in st:rows() do print(row[1]) end
 */
static int l_rows(lua_State *L)
{
    lstmt *s = to_stmt(L, 1);
    lua_settop(L, 2);
    if (!lua_isnil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        if (lua_getfield(L, 2, "on_progress") != LUA_TNIL) {
            luaL_argcheck(L, lua_isfunction(L, -1), 2, "on_progress must be a function");
            lua_setiuservalue(L, 1, UV_PROGRESS);
        }
    }
    (void)s;
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, rows_iter, 1);
    return 1;
}

/***
 * Every row of the result (those not yet read by `rows`), as `client:sql`
 * returns them. Holds the whole result in memory: for large results use `rows`.
 * @function Statement:fetch_all
 * @return `{columns={names}, schema={columns}, rows={{...}, ...}, statement_id=,
 * total_row_count=, truncated=}`, or nil and an error
 */
static int l_fetch_all(lua_State *L)
{
    lstmt *s = to_stmt(L, 1);
    dbx_lclient *u;
    dbx_lctx x;
    dbx_err err;
    lua_Integer n = 0;
    int out;
    lua_settop(L, 1);
    u = enter(L, 1, s, &x); /* client at 2, guards at 3 and 4 */
    dbx_err_clear(&err);
    if (ready(L, 1, s, u, &x, &err) != 0)
        return fail(L, s, &err);
    lua_newtable(L); /* rows */
    out = lua_gettop(L);
    for (;;) {
        if (s->pos < s->len) {
            lua_getiuservalue(L, 1, UV_BATCH);
            while (s->pos < s->len) {
                lua_rawgeti(L, -1, (lua_Integer)++s->pos);
                lua_rawseti(L, out, ++n);
            }
            lua_pop(L, 1);
        }
        if (s->exhausted)
            break;
        {
            int rc = next_batch(L, 1, s, u, &x, &err);
            if (rc < 0)
                return fail(L, s, &err);
            if (rc == 0)
                break;
        }
    }
    lua_createtable(L, 0, 6);
    push_cached_columns(L, 1, s);
    lua_createtable(L, (int)s->st.manifest.ncols, 0);
    for (size_t i = 0; i < s->st.manifest.ncols; i++) {
        lua_pushstring(L, s->st.manifest.cols[i].name);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -3, "columns");
    lua_setfield(L, -2, "schema");
    lua_pushvalue(L, out);
    lua_setfield(L, -2, "rows");
    lua_pushstring(L, s->st.id);
    lua_setfield(L, -2, "statement_id");
    lua_pushinteger(L, s->st.manifest.total_rows >= 0 ? (lua_Integer)s->st.manifest.total_rows : n);
    lua_setfield(L, -2, "total_row_count");
    lua_pushboolean(L, s->st.manifest.truncated);
    lua_setfield(L, -2, "truncated");
    return 1;
}

/***
 * Cancels the statement on the warehouse (nothing to do once it has finished).
 * @function Statement:cancel
 * @return true, or nil and an error
 */
static int l_cancel(lua_State *L)
{
    lstmt *s = to_stmt(L, 1);
    dbx_lclient *u;
    dbx_lctx x;
    dbx_err err;
    lua_settop(L, 1);
    u = enter(L, 1, s, &x);
    dbx_err_clear(&err);
    if (dbx_stmt_cancel(u->c, &x.base, &s->st, 0, &err) != 0)
        return fail(L, s, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* The one cleanup of close, __close and __gc. A statement that has not
 * finished is cancelled (one attempt) when its client can make a call now:
 * open, and not in the middle of another call (a finaliser may run inside
 * one, and the client's transport cannot be re-entered). */
static int cleanup(lua_State *L, int from_gc)
{
    lstmt *s = luaL_checkudata(L, 1, STMT_MT);
    if (s->closed)
        return 0;
    if (s->busy && !from_gc)
        return luaL_error(L, "a databricks statement cannot be closed from inside one of its own calls");
    s->closed = 1;
    if (s->st.id[0] && !s->st.ended) {
        dbx_lclient *cu;
        lua_settop(L, 1);
        lua_getiuservalue(L, 1, UV_CLIENT);
        cu = luaL_testudata(L, 2, DBX_L_CLIENT_MT);
        if (cu && cu->c && cu->depth == 0) {
            dbx_lctx x;
            dbx_err err;
            dbx_lclient *u = dbx_l_client_begin_at(L, 2, &x);
            dbx_err_clear(&err);
            (void)dbx_stmt_cancel(u->c, &x.base, &s->st, 1, &err);
        }
    }
    dbx_fetch_free(s->fetch);
    s->fetch = NULL;
    dbx_stmt_free(&s->st);
    free(s->typed_cols);
    s->typed_cols = NULL;
    s->pos = s->len = 0;
    for (int uv = UV_PROGRESS; uv <= UV_COLUMNS; uv++) {
        lua_pushnil(L);
        lua_setiuservalue(L, 1, uv);
    }
    return 0;
}

/***
 * Releases the statement: cancels it when it has not finished, stops its
 * downloads and frees what it holds. Also run by `__close` and `__gc`;
 * idempotent. Using a closed statement raises.
 * @function Statement:close
 */
static int l_close(lua_State *L)
{
    return cleanup(L, 0);
}

static int l_gc(lua_State *L)
{
    return cleanup(L, 1);
}

static int l_tostring(lua_State *L)
{
    lstmt *s = luaL_checkudata(L, 1, STMT_MT);
    if (s->closed)
        lua_pushliteral(L, "databricks.statement (closed)");
    else
        lua_pushfstring(L, "databricks.statement (%s, %s)", s->st.id[0] ? s->st.id : "?",
                        s->st.state[0] ? s->st.state : "?");
    return 1;
}

/* st.id, then the methods. */
static int l_index(lua_State *L)
{
    lstmt *s = luaL_checkudata(L, 1, STMT_MT);
    const char *k = lua_tostring(L, 2);
    if (k && strcmp(k, "id") == 0) {
        if (s->st.id[0])
            lua_pushstring(L, s->st.id);
        else
            lua_pushnil(L);
        return 1;
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
}

/* ---- client:_execute ------------------------------------------------------------------------- */

static const char *opt_string(lua_State *L, int opts, const char *key)
{
    return dbx_l_optstring(L, opts, key, NULL);
}

static long long opt_integer(lua_State *L, int opts, const char *key)
{
    lua_Number v = dbx_l_optnumber(L, opts, key, 0);
    if (v != floor(v) || v < 0 || v > 9e15)
        luaL_error(L, "execute: %s must be a whole number of at least 0", key);
    return (long long)v;
}

/* Reads opts[field] (a list of {<key>=, value=, type=}, as the Lua side
 * normalised it; `what` names an element in errors) into an array anchored
 * on the stack with the list, which keeps its strings alive. */
static dbx_stmt_pair *read_pairs(lua_State *L, int opts, const char *field, const char *key, const char *what,
                                 size_t *n)
{
    dbx_stmt_pair *p;
    int list;
    *n = 0;
    if (lua_getfield(L, opts, field) != LUA_TTABLE) {
        lua_pop(L, 1);
        return NULL;
    }
    list = lua_gettop(L);
    *n = (size_t)lua_rawlen(L, list);
    p = lua_newuserdatauv(L, (*n ? *n : 1) * sizeof *p, 0);
    for (size_t i = 0; i < *n; i++) {
        lua_rawgeti(L, list, (lua_Integer)i + 1);
        luaL_checktype(L, -1, LUA_TTABLE);
        p[i].name = dbx_l_optstring(L, -1, key, NULL);
        p[i].value = dbx_l_optstring(L, -1, "value", NULL);
        p[i].type = dbx_l_optstring(L, -1, "type", NULL);
        if (!p[i].name)
            luaL_error(L, "execute: %s %d has no %s", what, (int)i + 1, key);
        lua_pop(L, 1);
    }
    return p;
}

/* client:_execute(statement, opts): the work of client:execute, whose Lua
 * side (lua/databricks/client.lua) checked and normalised the options. */
static int l_execute(lua_State *L)
{
    const char *sql = luaL_checkstring(L, 2), *decimal;
    dbx_stmt_request rq;
    dbx_lclient *u;
    dbx_json *answer = NULL;
    double timeout;
    lstmt *s;
    dbx_lctx x;
    dbx_err err;
    lstmt **g;
    luaL_checktype(L, 3, LUA_TTABLE);
    dbx_l_check_client(L);
    lua_settop(L, 3);
    /* The statement first, then anything native inside it (luaossl). */
    s = lua_newuserdatauv(L, sizeof *s, UV_COUNT); /* at 4 */
    memset(s, 0, sizeof *s);
    dbx_stmt_init(&s->st);
    s->progress_done = -1;
    luaL_setmetatable(L, STMT_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, 4, UV_CLIENT);
    g = lua_newuserdatauv(L, sizeof *g, 0);
    *g = s;
    luaL_setmetatable(L, GUARD_MT);
    lua_setiuservalue(L, 4, UV_GUARD);
    if (lua_getfield(L, 3, "on_progress") != LUA_TNIL) {
        luaL_argcheck(L, lua_isfunction(L, -1), 3, "on_progress must be a function");
        lua_setiuservalue(L, 4, UV_PROGRESS);
    } else {
        lua_pop(L, 1);
    }

    memset(&rq, 0, sizeof rq);
    rq.statement = sql;
    rq.warehouse_id = opt_string(L, 3, "warehouse_id");
    rq.disposition = dbx_l_optstring(L, 3, "disposition", "EXTERNAL_LINKS");
    rq.on_wait_timeout = "CONTINUE";
    rq.wait_timeout = (int)opt_integer(L, 3, "wait_timeout");
    rq.row_limit = opt_integer(L, 3, "row_limit");
    rq.byte_limit = opt_integer(L, 3, "byte_limit");
    rq.catalog = opt_string(L, 3, "catalog");
    rq.schema = opt_string(L, 3, "schema");
    rq.params = read_pairs(L, 3, "parameters", "name", "parameter", &rq.nparams);
    rq.tags = read_pairs(L, 3, "query_tags", "key", "query tag", &rq.ntags);
    if (!rq.warehouse_id)
        return luaL_error(L, "execute: opts.warehouse_id is required");
    s->typed = dbx_l_optboolean(L, 3, "typed", 1);
    decimal = dbx_l_optstring(L, 3, "decimal", "string");
    s->decimal_number = strcmp(decimal, "number") == 0;
    timeout = dbx_l_optnumber(L, 3, "timeout", 600);
    s->fo.prefetch = (int)dbx_l_optnumber(L, 3, "prefetch", 4);

    u = dbx_l_client_begin(L, &x);
    s->fo.ca_file = dbx_client_config(u->c)->ca_file;
    s->fo.connect_timeout = 10;
    s->fo.retry_budget = dbx_client_config(u->c)->retry_timeout;
    s->fo.batch_bytes = (size_t)dbx_l_optnumber(L, 3, "_batch_bytes", 0); /* tuning runs only */
    s->fo.batch_rows = (size_t)dbx_l_optnumber(L, 3, "_batch_rows", 0);
    dbx_err_clear(&err);
    if (dbx_stmt_execute(u->c, &x.base, &rq, timeout, &s->st, &answer, &err) != 0 ||
        after_answer(L, 4, s, answer, &err) != 0) {
        s->closed = 1; /* nothing to cancel: no statement, or one that is known */
        dbx_stmt_free(&s->st);
        return dbx_l_fail(L, &err);
    }
    lua_pushvalue(L, 4);
    return 1;
}

/* client:_statement_stats(st): what the fetch did (tests). */
static int l_stats(lua_State *L)
{
    lstmt *s = luaL_checkudata(L, 1, STMT_MT);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, s->fetch ? dbx_fetch_max_parallel(s->fetch) : s->max_parallel);
    lua_setfield(L, -2, "max_parallel");
    if (s->fetch)
        dbx_fetch_times(s->fetch, &s->t_links, &s->t_wait);
    lua_pushnumber(L, s->t_links);
    lua_setfield(L, -2, "links_seconds");
    lua_pushnumber(L, s->t_wait);
    lua_setfield(L, -2, "wait_seconds");
    return 1;
}

void dbx_l_open_statement(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"status", l_status}, {"wait", l_wait},     {"columns", l_columns}, {"rows", l_rows},
        {"fetch_all", l_fetch_all}, {"cancel", l_cancel}, {"close", l_close}, {"_stats", l_stats},
        {NULL, NULL},
    };
    static const luaL_Reg client_methods[] = {
        {"_execute", l_execute},
        {NULL, NULL},
    };
    luaL_newmetatable(L, GUARD_MT);
    lua_pushcfunction(L, guard_close);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
    luaL_newmetatable(L, STMT_MT);
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    luaL_newlib(L, methods);
    lua_pushcclosure(L, l_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_getfield(L, -1, "client_methods");
    luaL_setfuncs(L, client_methods, 0);
    lua_pop(L, 1);
}
