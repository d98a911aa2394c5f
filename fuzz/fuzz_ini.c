/* fuzz_ini.c — libFuzzer driver for the ~/.databrickscfg reader
 * (src/ini.c): a file the user (or a tool) wrote, read on every
 * config_from_profile.
 *
 * Input: byte 0 = k; the callback stops the parse (returns -1) at its k-th
 * call when k < 32, so the early-exit path is exercised; the rest is the
 * file (exact-size heap copy: a read past its end is caught).
 *
 * Checked, for every callback: the section is a non-empty name without
 * leading/trailing white space; a key is non-empty, lower-case, contains
 * neither '=' nor ':' nor a line end and has no surrounding white space; a
 * value has no trailing white space (continuation lines are joined with
 * '\n'); line numbers are >= 1, never decrease and never exceed the number
 * of lines. The parse returns 0, or -1 with a terminated, non-empty message
 * (naming a line for syntax errors); when the callback stopped it, it
 * returns -1 at once (no further calls).
 *
 * Run: fuzz/run.sh ini. Replayed by spec/c/fuzz_ini_corpus.c. */
#include "fuzz_common.h"

#include <ctype.h>

#include "ini.h"

typedef struct seen {
    int calls, stop_at, last_line, max_line, stopped;
} seen;

static int on_item(void *ud, const char *section, const char *key, const char *value, int line, dbx_err *err)
{
    seen *s = ud;
    size_t n;
    CHECK(!s->stopped);
    s->calls++;
    CHECK(section && section[0]);
    n = strlen(section);
    CHECK(!isspace((unsigned char)section[0]) && !isspace((unsigned char)section[n - 1]));
    CHECK(line >= 1 && line >= s->last_line && line <= s->max_line);
    s->last_line = line;
    if (key) {
        CHECK(value != NULL);
        n = strlen(key);
        CHECK(n > 0);
        CHECK(!isspace((unsigned char)key[0]) && !isspace((unsigned char)key[n - 1]));
        for (const char *p = key; *p; p++)
            CHECK(!isupper((unsigned char)*p) && *p != '=' && *p != ':' && *p != '\n');
        n = strlen(value);
        CHECK(n == 0 || !isspace((unsigned char)value[n - 1]));
    } else {
        CHECK(value == NULL);
    }
    if (s->calls == s->stop_at) {
        s->stopped = 1;
        return dbx_err_set(err, DBX_ECONFIG, "stopped by the callback");
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest;
    size_t n;
    char *text;
    seen s = {0, 0, 0, 1, 0};
    dbx_err err;
    int rc;
    if (size == 0)
        return 0;
    s.stop_at = data[0] < 32 ? data[0] : -1;
    fuzz_take(data, size, 1, &rest, &n);
    for (size_t i = 0; i < n; i++)
        s.max_line += rest[i] == '\n';
    text = fuzz_exact(rest, n);
    dbx_err_clear(&err);
    rc = dbx_ini_parse(text, n, on_item, &s, &err);
    CHECK(rc == 0 || rc == -1);
    if (s.stopped) {
        CHECK(rc == -1 && strcmp(err.message, "stopped by the callback") == 0);
    } else if (rc != 0) {
        CHECK(memchr(err.message, '\0', sizeof err.message) != NULL && err.message[0]);
        CHECK(err.kind == DBX_ECONFIG || err.kind == DBX_EIO);
        if (err.kind == DBX_ECONFIG)
            CHECK(strstr(err.message, "line ") != NULL);
    }
    fuzz_free_exact(text, n);
    return 0;
}
