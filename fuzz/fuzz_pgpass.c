/* fuzz_pgpass.c — libFuzzer driver for the .pgpass code (src/pgpass.c):
 * the line parser, the escaping round-trip and the rewrite invariant.
 *
 * Input layout: byte 0 = k (mod 64), bytes 1..k = the entry to write as up to
 * five '|'-separated fields (host|port|database|username|password; missing
 * ones default to h|5432|d|u|pw), the rest = the .pgpass text.
 *
 * Checked (abort() on a violation):
 *  - parse_line consumes the whole text in non-empty steps, fields in bounds;
 *  - escape(s) reads back as s through find() and field_equals();
 *  - rewrite: the text minus every line holding the entry is unchanged (plus
 *    one added line end when appending to a text without a final newline);
 *    exactly one line holds the entry afterwards, at edit.line, with the new
 *    password; find() returns it when the key has no wildcard and nothing
 *    shadows it; a second rewrite changes nothing.
 *
 * Build and run with libFuzzer: fuzz/run.sh pgpass (see fuzz/run.sh; `make
 * fuzz` runs every driver). The normal build also replays fuzz/corpus/pgpass
 * through these checks (spec/c/fuzz_pgpass_corpus.c, run by
 * spec/pgpass_spec.lua and spec/fuzz_corpus_spec.lua). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pgpass.h"

static int is_same(const dbx_pgpass_line *l, const dbx_pgpass_entry *e)
{
    const char *v[DBX_PGPASS_NKEYS] = {e->host, e->port, e->database, e->username};
    if (l->kind != DBX_PGPASS_ENTRY)
        return 0;
    for (int i = 0; i < DBX_PGPASS_NKEYS; i++) {
        int wild = strcmp(v[i], "*") == 0;
        if (l->key[i].wild != wild)
            return 0;
        if (!wild && !dbx_pgpass_field_equals(&l->key[i], v[i], strlen(v[i])))
            return 0;
    }
    return 1;
}

/* Appends the text without the lines holding the entry; returns how many
 * there were and the 1-based number of the first (in *first). */
static size_t strip(const char *s, size_t n, const dbx_pgpass_entry *e, dbx_buf *out, size_t *first)
{
    size_t pos = 0, count = 0, lineno = 0;
    *first = 0;
    dbx_buf_append(out, "", 0);
    while (pos < n) {
        dbx_pgpass_line l;
        size_t len = dbx_pgpass_parse_line(s + pos, n - pos, &l);
        CHECK(len > 0 && len <= n - pos);
        CHECK(l.content_len + l.end_len == len);
        lineno++;
        if (is_same(&l, e)) {
            if (!count)
                *first = lineno;
            count++;
        } else {
            CHECK(dbx_buf_append(out, s + pos, len) == 0);
        }
        pos += len;
    }
    return count;
}

static void check_parse(const char *s, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        dbx_pgpass_line l;
        size_t len = dbx_pgpass_parse_line(s + pos, n - pos, &l);
        CHECK(len > 0 && len <= n - pos);
        if (l.kind == DBX_PGPASS_ENTRY) {
            for (int i = 0; i < DBX_PGPASS_NKEYS; i++)
                CHECK(l.key[i].raw >= s + pos && l.key[i].raw + l.key[i].len <= s + pos + l.content_len);
            CHECK(l.password.raw + l.password.len <= s + pos + l.content_len);
        }
        pos += len;
    }
}

/* escape(v) in every field of a line reads back as v. */
static void check_escape(const char *v, size_t n)
{
    dbx_buf esc = {0}, text = {0}, pw = {0};
    dbx_pgpass_line l;
    dbx_pgpass_entry key;
    char *z;
    if (n == 0 || memchr(v, '\0', n) || memchr(v, '\n', n) || memchr(v, '\r', n))
        return;
    CHECK(dbx_pgpass_escape(&esc, v, n) == 0);
    for (int i = 0; i < 5; i++) {
        dbx_buf_append(&text, esc.data, esc.len);
        dbx_buf_append(&text, i < 4 ? ":" : "\n", 1);
    }
    dbx_pgpass_parse_line(text.data, text.len, &l);
    CHECK(l.kind == DBX_PGPASS_ENTRY);
    for (int i = 0; i < DBX_PGPASS_NKEYS; i++) {
        CHECK(!l.key[i].wild);
        CHECK(dbx_pgpass_field_equals(&l.key[i], v, n));
    }
    z = malloc(n + 1);
    CHECK(z != NULL);
    memcpy(z, v, n);
    z[n] = '\0';
    key.host = key.port = key.database = key.username = z;
    key.password = NULL;
    CHECK(dbx_pgpass_find(text.data, text.len, &key, &pw) == 1);
    CHECK(pw.len == n && memcmp(pw.data, v, n) == 0);
    free(z);
    dbx_buf_free(&esc);
    dbx_buf_free(&text);
    dbx_buf_free(&pw);
}

static void check_rewrite(const char *in, size_t n, const dbx_pgpass_entry *raw)
{
    dbx_pgpass_entry e;
    dbx_pgpass_edit r, r2;
    dbx_buf out = {0}, out2 = {0}, a = {0}, b = {0}, pw = {0};
    dbx_err err;
    char port[8];
    size_t first_in, first_out, before, after;
    int literal;
    if (dbx_pgpass_check_entry(raw, &e, port, &err) != 0)
        return;
    literal = strcmp(e.host, "*") && strcmp(e.port, "*") && strcmp(e.database, "*") &&
              strcmp(e.username, "*");
    CHECK(dbx_pgpass_rewrite(in, n, 1, &e, &out, &r) == 0);
    before = strip(in, n, &e, &a, &first_in);
    after = strip(out.data, out.len, &e, &b, &first_out);
    CHECK(after == 1);
    CHECK(first_out == r.line);
    CHECK(r.removed == (before ? before - 1 : 0));
    if (before == 0 && r.action == DBX_PGPASS_APPENDED && n > 0 && in[n - 1] != '\n') {
        /* One line end was added after the old last line. */
        CHECK(b.len > a.len && memcmp(a.data, b.data, a.len) == 0);
        CHECK(b.len - a.len <= 2);
    } else {
        CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    }
    CHECK(before ? (r.action == DBX_PGPASS_REPLACED || r.action == DBX_PGPASS_UNCHANGED)
                 : (r.action == DBX_PGPASS_APPENDED || r.action == DBX_PGPASS_INSERTED));
    CHECK(r.changed == !(r.action == DBX_PGPASS_UNCHANGED && r.removed == 0));
    if (!r.changed)
        CHECK(out.len == n && memcmp(out.data, in, n) == 0);
    if (literal && r.shadowed_by == 0) {
        CHECK(dbx_pgpass_find(out.data, out.len, &e, &pw) == 1);
        CHECK(pw.len == strlen(e.password) && memcmp(pw.data, e.password, pw.len) == 0);
    }
    /* Idempotent. */
    CHECK(dbx_pgpass_rewrite(out.data, out.len, 1, &e, &out2, &r2) == 0);
    CHECK(r2.action == DBX_PGPASS_UNCHANGED && !r2.changed && r2.removed == 0);
    CHECK(r2.line == r.line);
    CHECK(out2.len == out.len && memcmp(out2.data, out.data, out.len) == 0);
    dbx_buf_free(&out);
    dbx_buf_free(&out2);
    dbx_buf_free(&a);
    dbx_buf_free(&b);
    dbx_buf_free(&pw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const defaults[5] = {"h", "5432", "d", "u", "pw"};
    char *fields[5] = {0};
    const char *text;
    size_t k, n, start = 0, f = 0;
    dbx_pgpass_entry e;
    if (size == 0)
        return 0;
    k = data[0] % 64;
    if (k > size - 1)
        k = size - 1;
    /* Split the header on '|'. */
    for (size_t i = 0; i <= k && f < 5; i++) {
        if (i == k || data[1 + i] == '|') {
            fields[f] = malloc(i - start + 1);
            CHECK(fields[f]);
            memcpy(fields[f], data + 1 + start, i - start);
            fields[f][i - start] = '\0';
            f++;
            start = i + 1;
        }
    }
    text = (const char *)data + 1 + k;
    n = size - 1 - k;
    check_parse(text, n);
    for (size_t i = 0; i < f; i++)
        check_escape(fields[i], strlen(fields[i]));
    check_escape(text, n < 300 ? n : 300);
    e.host = f > 0 && fields[0][0] ? fields[0] : defaults[0];
    e.port = f > 1 && fields[1][0] ? fields[1] : defaults[1];
    e.database = f > 2 && fields[2][0] ? fields[2] : defaults[2];
    e.username = f > 3 && fields[3][0] ? fields[3] : defaults[3];
    e.password = f > 4 && fields[4][0] ? fields[4] : defaults[4];
    check_rewrite(text, n, &e);
    for (size_t i = 0; i < f; i++)
        free(fields[i]);
    return 0;
}
