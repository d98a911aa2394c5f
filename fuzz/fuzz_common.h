/* fuzz_common.h — what every libFuzzer driver in fuzz/ shares: the CHECK
 * macro (a violated invariant aborts, which libFuzzer and the corpus replay
 * both report), NUL-terminated and exact-size copies of the input, and the
 * JSON environment of the drivers that reach lua-cjson.
 *
 * Exact-size copies end where the input ends, so a read one byte past it is
 * caught: under AddressSanitizer they are heap blocks of exactly that size;
 * without it (the corpus replay in the normal gcc build, and under valgrind,
 * whose memcmp stops at the first difference) they are placed right before
 * an inaccessible guard page, so such a read crashes the replay.
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
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif

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

#ifdef FUZZ_ASAN
/* A copy of exactly n bytes, no terminator (malloc(0) is avoided: it may
 * return NULL). Free with fuzz_free_exact. */
static inline char *fuzz_exact(const uint8_t *data, size_t n)
{
    char *s = malloc(n ? n : 1);
    CHECK(s != NULL);
    if (n)
        memcpy(s, data, n);
    return s;
}

static inline void fuzz_free_exact(char *s, size_t n)
{
    (void)n;
    free(s);
}
#else
static inline size_t fuzz_page(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

/* n bytes that end exactly at an inaccessible guard page. */
static inline char *fuzz_exact(const uint8_t *data, size_t n)
{
    size_t page = fuzz_page(), span = (n + page - 1) / page * page;
    char *base = mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(base != MAP_FAILED);
    CHECK(mprotect(base + span, page, PROT_NONE) == 0);
    if (n)
        memcpy(base + span - n, data, n);
    return base + span - n;
}

static inline void fuzz_free_exact(char *s, size_t n)
{
    size_t page = fuzz_page(), span = (n + page - 1) / page * page;
    CHECK(munmap(s + n - span, span + page) == 0);
}
#endif

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

/* Called after each input: the stack is balanced again. A full collection
 * frees what the input allocated, so libFuzzer's leak check (which runs
 * LeakSanitizer whenever an input's mallocs and frees do not balance) is not
 * set off by garbage the collector had not reached yet. */
static inline void fuzz_json_done(void)
{
    CHECK(lua_gettop(fuzz_L) == 0);
    lua_gc(fuzz_L, LUA_GCCOLLECT, 0);
}
#endif

#endif
