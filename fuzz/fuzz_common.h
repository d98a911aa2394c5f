/* fuzz_common.h — what every libFuzzer driver in fuzz/ shares: the CHECK
 * macro (a violated invariant aborts, which libFuzzer and the corpus replay
 * both report), NUL-terminated and exact-size copies of the input (heap
 * blocks of exactly the input's size, so AddressSanitizer sees a read one byte
 * past the end), and the JSON environment of the drivers that reach lua-cjson.
 *
 * The JSON environment is what the binding hands the core: a lua_State
 * (dbx_jsonenv is one in disguise, see json.h) with the standard libraries
 * open, so that l_json.c can `require "cjson.safe"`. Debian's liblua5.4 finds
 * lua-cjson's cjson.so on its default cpath. One state serves the whole run;
 * it is closed at exit so valgrind and LeakSanitizer see no leak.
 *
 * Included once per driver (a single translation unit with the driver and,
 * in spec/c/fuzz_<name>_corpus.c, the replay main of fuzz/replay.h). */
#ifndef DBX_FUZZ_COMMON_H
#define DBX_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input being replayed (set by fuzz/replay.h), named when a check fails. */
static const char *fuzz_input_name;

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            fuzz_fail(__FILE__, __LINE__, #c);                                                     \
    } while (0)

__attribute__((noreturn)) static inline void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s%s%s\n", file, line, what,
            fuzz_input_name ? " -- input " : "", fuzz_input_name ? fuzz_input_name : "");
    fflush(stderr);
    abort();
}

/* A NUL-terminated copy of data[0..n) (it stops at an embedded NUL, as a C
 * string would). Free with free(). */
static inline char *fuzz_cstr(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

/* A copy of exactly n bytes, no terminator (malloc(0) is avoided: one
 * unreadable byte would not be "exactly n"). */
static inline char *fuzz_exact(const uint8_t *data, size_t n)
{
    char *s = malloc(n ? n : 1);
    CHECK(s != NULL);
    if (n)
        memcpy(s, data, n);
    return s;
}

/* Splits off the first `k` bytes as a header; *rest and *rest_n get the others. */
static inline size_t fuzz_take(const uint8_t *data, size_t size, size_t k, const uint8_t **rest,
                               size_t *rest_n)
{
    if (k > size)
        k = size;
    *rest = data + k;
    *rest_n = size - k;
    return k;
}

#ifdef DBX_FUZZ_WANT_JSON
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "json.h"

static lua_State *fuzz_L;

static void fuzz_json_close(void)
{
    if (fuzz_L)
        lua_close(fuzz_L);
    fuzz_L = NULL;
}

/* The JSON environment (created on first use; aborts when lua-cjson cannot
 * be loaded, because every input would then be "not JSON" and the run
 * would test nothing). */
static inline dbx_jsonenv *fuzz_jsonenv(void)
{
    if (!fuzz_L) {
        fuzz_L = luaL_newstate();
        CHECK(fuzz_L != NULL);
        luaL_openlibs(fuzz_L);
        if (luaL_dostring(fuzz_L, "require 'cjson.safe'") != LUA_OK) {
            fprintf(stderr, "fuzz: cannot load lua-cjson: %s\n", lua_tostring(fuzz_L, -1));
            abort();
        }
        atexit(fuzz_json_close);
    }
    /* Nothing the core does may leave values behind on the stack. */
    CHECK(lua_gettop(fuzz_L) == 0);
    return (dbx_jsonenv *)fuzz_L;
}

/* Called after each input: the stack is balanced again. */
static inline void fuzz_json_done(void)
{
    CHECK(lua_gettop(fuzz_L) == 0);
}
#endif

#endif
