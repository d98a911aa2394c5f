/* pgpass.c — libpq's .pgpass format (see pgpass.h): line parsing that
 * follows fe-connect.c's passwordFromFile/pwdfMatchesString exactly, escaping,
 * look-up, and the single-pass rewrite that replaces one entry while keeping
 * every other byte. The rewrite streams the text once (one memmove of the
 * tail for an insertion), so a 10,000-line file costs microseconds.
 *
 * The last section is the file-level glue on top of atomicfile.h. Passwords
 * pass through here but never reach an error message, and every buffer that
 * held one is wiped (dbx_buf_free). */
#include "pgpass.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- one line -------------------------------------------------------- */

/* Scans an escaped field from s[i] up to an unescaped ':' (returned index,
 * < n) or the end (returns n). A backslash always takes the next byte; a
 * lone backslash at the end is just a byte. */
static size_t scan_field(const char *s, size_t i, size_t n)
{
    while (i < n && s[i] != ':')
        i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
    return i;
}

size_t dbx_pgpass_parse_line(const char *s, size_t n, dbx_pgpass_line *line)
{
    const char *nl = memchr(s, '\n', n);
    size_t total = nl ? (size_t)(nl - s) + 1 : n, len = total, p = 0;
    memset(line, 0, sizeof *line);
    /* libpq: pg_strip_crlf removes every trailing CR and LF. */
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    line->content_len = len;
    line->end_len = total - len;
    if (total > 0 && s[0] == '#') {
        line->kind = DBX_PGPASS_COMMENT;
        return total;
    }
    if (len == 0) {
        line->kind = DBX_PGPASS_BLANK;
        return total;
    }
    line->kind = DBX_PGPASS_INVALID;
    if (memchr(s, '\0', len))
        return total;
    for (int k = 0; k < DBX_PGPASS_NKEYS; k++) {
        size_t end;
        dbx_pgpass_field *f = &line->key[k];
        if (p + 1 < len && s[p] == '*' && s[p + 1] == ':') {
            f->raw = s + p;
            f->len = 1;
            f->wild = 1;
            p += 2;
            continue;
        }
        /* A key field must end in an unescaped ':' (libpq's pwdfMatchesString
         * fails at the end of the line, even for a trailing backslash). */
        end = p;
        while (end < len && s[end] != ':') {
            if (s[end] == '\\' && end + 1 >= len)
                return total;
            end += s[end] == '\\' ? 2 : 1;
        }
        if (end >= len)
            return total;
        f->raw = s + p;
        f->len = end - p;
        p = end + 1;
    }
    line->password.raw = s + p;
    line->password.len = scan_field(s, p, len) - p;
    line->kind = DBX_PGPASS_ENTRY;
    return total;
}

int dbx_pgpass_field_equals(const dbx_pgpass_field *f, const char *value, size_t n)
{
    size_t i = 0, j = 0;
    while (i < f->len) {
        if (f->raw[i] == '\\' && i + 1 < f->len)
            i++;
        if (j >= n || f->raw[i] != value[j])
            return 0;
        i++;
        j++;
    }
    return j == n;
}

int dbx_pgpass_unescape(dbx_buf *out, const char *raw, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        /* Copy runs without backslashes in one append. */
        while (run < n && raw[run] != '\\')
            run++;
        if (run > i && dbx_buf_append(out, raw + i, run - i) != 0)
            return -1;
        i = run;
        if (i < n) {
            if (i + 1 < n)
                i++;
            if (dbx_buf_append(out, raw + i, 1) != 0)
                return -1;
            i++;
        }
    }
    if (!out->data)
        return dbx_buf_append(out, "", 0);
    return 0;
}

int dbx_pgpass_escape(dbx_buf *out, const char *s, size_t n)
{
    size_t i = 0;
    if (!out->data && dbx_buf_append(out, "", 0) != 0)
        return -1;
    if ((n == 1 && s[0] == '*') || (n > 0 && s[0] == '#')) {
        if (dbx_buf_append(out, "\\", 1) != 0 || dbx_buf_append(out, s, 1) != 0)
            return -1;
        i = 1;
    }
    while (i < n) {
        size_t run = i;
        while (run < n && s[run] != '\\' && s[run] != ':')
            run++;
        if (run > i && dbx_buf_append(out, s + i, run - i) != 0)
            return -1;
        i = run;
        if (i < n) {
            if (dbx_buf_append(out, "\\", 1) != 0 || dbx_buf_append(out, s + i, 1) != 0)
                return -1;
            i++;
        }
    }
    return 0;
}

/* ---- entries ---------------------------------------------------------- */

static const char *key_value(const dbx_pgpass_entry *e, int k)
{
    switch (k) {
    case 0: return e->host;
    case 1: return e->port;
    case 2: return e->database;
    default: return e->username;
    }
}

static int check_text(const char *name, const char *v, dbx_err *e)
{
    if (!v || !*v)
        return dbx_err_set(e, DBX_ECONFIG, "pgpass: %s is empty: give a non-empty %s", name, name);
    if (strpbrk(v, "\r\n"))
        return dbx_err_set(e, DBX_ECONFIG,
                           "pgpass: %s contains a line break (CR or LF), which .pgpass cannot "
                           "hold: remove it",
                           name);
    return 0;
}

int dbx_pgpass_check_entry(const dbx_pgpass_entry *in, dbx_pgpass_entry *ok, char port_buf[8],
                           dbx_err *e)
{
    const char *p = in->port;
    long v = 0;
    if (check_text("host", in->host, e) || check_text("database", in->database, e) ||
        check_text("username", in->username, e) || check_text("password", in->password, e))
        return -1;
    if (p && strcmp(p, "*") == 0) {
        strcpy(port_buf, "*");
    } else {
        int digits = 0;
        for (; p && *p >= '0' && *p <= '9' && digits <= 6; p++, digits++)
            v = v * 10 + (*p - '0');
        if (!p || *p || digits == 0 || digits > 6 || v < 1 || v > 65535)
            return dbx_err_set(e, DBX_ECONFIG,
                               "pgpass: port must be a number from 1 to 65535 or \"*\"");
        snprintf(port_buf, 8, "%ld", v);
    }
    *ok = *in;
    ok->port = port_buf;
    return 0;
}

int dbx_pgpass_render(dbx_buf *out, const dbx_pgpass_entry *e)
{
    for (int k = 0; k < DBX_PGPASS_NKEYS; k++) {
        const char *v = key_value(e, k);
        int rc = strcmp(v, "*") == 0 ? dbx_buf_append(out, "*", 1)
                                     : dbx_pgpass_escape(out, v, strlen(v));
        if (rc != 0 || dbx_buf_append(out, ":", 1) != 0)
            return -1;
    }
    return dbx_pgpass_escape(out, e->password, strlen(e->password));
}

const char *dbx_pgpass_action_name(dbx_pgpass_action a)
{
    switch (a) {
    case DBX_PGPASS_CREATED: return "created";
    case DBX_PGPASS_APPENDED: return "appended";
    case DBX_PGPASS_INSERTED: return "inserted";
    case DBX_PGPASS_REPLACED: return "replaced";
    default: return "unchanged";
    }
}

/* The entry to write, pre-digested for matching. */
typedef struct key_info {
    const char *v[DBX_PGPASS_NKEYS];
    size_t n[DBX_PGPASS_NKEYS];
    int wild[DBX_PGPASS_NKEYS];
} key_info;

static void key_init(key_info *k, const dbx_pgpass_entry *e, int wildcards)
{
    for (int i = 0; i < DBX_PGPASS_NKEYS; i++) {
        k->v[i] = key_value(e, i);
        k->n[i] = strlen(k->v[i]);
        k->wild[i] = wildcards && strcmp(k->v[i], "*") == 0;
    }
}

/* Same entry: every key field is the wildcard on both sides, or literal on
 * both sides with equal values. */
static int same_entry(const dbx_pgpass_line *l, const key_info *k)
{
    for (int i = 0; i < DBX_PGPASS_NKEYS; i++) {
        if (l->key[i].wild != k->wild[i])
            return 0;
        if (!k->wild[i] && !dbx_pgpass_field_equals(&l->key[i], k->v[i], k->n[i]))
            return 0;
    }
    return 1;
}

/* Line l matches every connection the entry k matches (so libpq, reading
 * top-down, would answer from l whenever it could have answered from k).
 * Called only when l is not the same entry. */
static int shadows(const dbx_pgpass_line *l, const key_info *k)
{
    for (int i = 0; i < DBX_PGPASS_NKEYS; i++) {
        if (l->key[i].wild)
            continue;
        if (k->wild[i] || !dbx_pgpass_field_equals(&l->key[i], k->v[i], k->n[i]))
            return 0;
    }
    return 1;
}

static int password_equals(const dbx_pgpass_line *l, const char *pw)
{
    dbx_buf b = {0};
    int eq;
    if (dbx_pgpass_unescape(&b, l->password.raw, l->password.len) != 0)
        return 0; /* out of memory: treat as different, the rewrite is still right */
    eq = b.len == strlen(pw) && memcmp(b.data, pw, b.len) == 0;
    dbx_buf_free(&b);
    return eq;
}


int dbx_pgpass_rewrite(const char *in, size_t n, int existed, const dbx_pgpass_entry *e,
                       dbx_buf *out, dbx_pgpass_edit *r)
{
    dbx_buf entry = {0};
    key_info k;
    size_t pos = 0, lines = 0, shadow_at = 0, shadow_line = 0;
    int have_same = 0, rc = -1;
    const char *first_nl = memchr(in, '\n', n);
    const char *eol = (first_nl && first_nl > in && first_nl[-1] == '\r') ? "\r\n" : "\n";
    memset(r, 0, sizeof *r);
    key_init(&k, e, 1);
    if (dbx_pgpass_render(&entry, e) != 0 || dbx_buf_reserve(out, n + entry.len + 4) != 0)
        goto done;
    while (pos < n) {
        dbx_pgpass_line l;
        size_t len = dbx_pgpass_parse_line(in + pos, n - pos, &l);
        const char *s = in + pos;
        pos += len;
        if (l.kind == DBX_PGPASS_ENTRY && same_entry(&l, &k)) {
            if (have_same) {
                r->removed++;
                continue;
            }
            have_same = 1;
            r->line = ++lines;
            r->shadowed_by = shadow_line;
            if (password_equals(&l, e->password)) {
                r->action = DBX_PGPASS_UNCHANGED;
                if (dbx_buf_append(out, s, len) != 0)
                    goto done;
            } else {
                r->action = DBX_PGPASS_REPLACED;
                if (dbx_buf_append(out, entry.data, entry.len) != 0 ||
                    dbx_buf_append(out, s + l.content_len, l.end_len) != 0)
                    goto done;
            }
            continue;
        }
        lines++;
        if (!have_same && !shadow_line && l.kind == DBX_PGPASS_ENTRY && shadows(&l, &k)) {
            shadow_at = out->len;
            shadow_line = lines;
        }
        if (dbx_buf_append(out, s, len) != 0)
            goto done;
    }
    if (have_same) {
        r->changed = r->action == DBX_PGPASS_REPLACED || r->removed > 0;
        rc = 0;
        goto done;
    }
    r->changed = 1;
    r->shadowed_by = 0;
    if (dbx_buf_puts(&entry, eol) != 0)
        goto done;
    if (shadow_line) {
        /* Grow by the entry, shift the tail, drop the entry in. */
        size_t tail = out->len - shadow_at;
        if (dbx_buf_append(out, entry.data, entry.len) != 0)
            goto done;
        memmove(out->data + shadow_at + entry.len, out->data + shadow_at, tail);
        memcpy(out->data + shadow_at, entry.data, entry.len);
        r->action = DBX_PGPASS_INSERTED;
        r->line = shadow_line;
    } else {
        if (n > 0 && in[n - 1] != '\n' && dbx_buf_puts(out, eol) != 0)
            goto done;
        if (dbx_buf_append(out, entry.data, entry.len) != 0)
            goto done;
        r->action = existed ? DBX_PGPASS_APPENDED : DBX_PGPASS_CREATED;
        r->line = lines + 1;
    }
    rc = 0;
done:
    dbx_buf_free(&entry);
    return rc;
}

int dbx_pgpass_find(const char *in, size_t n, const dbx_pgpass_entry *key, dbx_buf *password)
{
    dbx_pgpass_entry lit = *key;
    key_info k;
    size_t pos = 0;
    /* libpq's defaults and refusals (passwordFromFile). */
    if (!lit.database || !*lit.database || !lit.username || !*lit.username)
        return 0;
    if (!lit.host || !*lit.host)
        lit.host = "localhost";
    if (!lit.port || !*lit.port)
        lit.port = "5432";
    key_init(&k, &lit, 0);
    while (pos < n) {
        dbx_pgpass_line l;
        int match = 1;
        pos += dbx_pgpass_parse_line(in + pos, n - pos, &l);
        if (l.kind != DBX_PGPASS_ENTRY)
            continue;
        for (int i = 0; i < DBX_PGPASS_NKEYS && match; i++)
            match = l.key[i].wild || dbx_pgpass_field_equals(&l.key[i], k.v[i], k.n[i]);
        if (match)
            return dbx_pgpass_unescape(password, l.password.raw, l.password.len) == 0 ? 1 : -1;
    }
    return 0;
}

/* ---- files ----------------------------------------------------------- */

int dbx_pgpass_default_path(dbx_buf *out, dbx_err *e)
{
    const char *p = getenv("PGPASSFILE"), *home = getenv("HOME");
    struct passwd pw, *res = NULL;
    char pwbuf[4096];
    if (p && *p)
        return dbx_buf_puts(out, p) == 0 ? 0 : dbx_err_set(e, DBX_EIO, "out of memory");
    if (!home || !*home) {
        if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof pwbuf, &res) != 0 || !res || !res->pw_dir ||
            !*res->pw_dir)
            return dbx_err_set(e, DBX_ECONFIG,
                               "cannot find the .pgpass file: HOME is not set and this user has "
                               "no home folder; set PGPASSFILE or pass a path");
        home = res->pw_dir;
    }
    if (dbx_buf_printf(out, "%s%s.pgpass", home, home[strlen(home) - 1] == '/' ? "" : "/") != 0)
        return dbx_err_set(e, DBX_EIO, "out of memory");
    return 0;
}

typedef struct edit_ctx {
    const dbx_pgpass_entry *entry;
    dbx_pgpass_edit *edit;
} edit_ctx;

static int edit_file(void *ctx, const char *old, size_t n, int existed, dbx_buf *out, dbx_err *e)
{
    edit_ctx *c = ctx;
    if (dbx_pgpass_rewrite(old, n, existed, c->entry, out, c->edit) != 0)
        return dbx_err_set(e, DBX_EIO, "out of memory rewriting the .pgpass file");
    return c->edit->changed ? DBX_AF_WRITE : DBX_AF_KEEP;
}

int dbx_pgpass_update(const char *path, const dbx_pgpass_entry *e, double lock_timeout,
                      dbx_pgpass_report *r, dbx_err *err)
{
    dbx_pgpass_entry ok;
    dbx_af_opts opts = {0};
    dbx_buf def = {0};
    edit_ctx ctx = {&ok, &r->edit};
    char port[8];
    int rc;
    opts.lock_timeout = lock_timeout;
    opts.fix_mode = 1;
    if (dbx_pgpass_check_entry(e, &ok, port, err) != 0)
        return -1;
    if (!path) {
        if (dbx_pgpass_default_path(&def, err) != 0)
            return -1;
        path = dbx_buf_str(&def);
    }
    rc = dbx_af_update(path, &opts, edit_file, &ctx, &r->file, err);
    dbx_buf_free(&def);
    return rc;
}

void dbx_pgpass_report_free(dbx_pgpass_report *r)
{
    dbx_af_state_free(&r->file);
}

int dbx_pgpass_lookup(const char *path, const dbx_pgpass_entry *key, dbx_buf *password,
                      dbx_err *err)
{
    dbx_buf def = {0}, text = {0};
    int rc;
    if (!path) {
        if (dbx_pgpass_default_path(&def, err) != 0)
            return -1;
        path = dbx_buf_str(&def);
    }
    rc = dbx_af_read(path, 0, 0, &text, err);
    if (rc == 1) {
        rc = dbx_pgpass_find(dbx_buf_str(&text), text.len, key, password);
        if (rc < 0)
            dbx_err_set(err, DBX_EIO, "out of memory reading %s", path);
    }
    dbx_buf_free(&def);
    dbx_buf_free(&text);
    return rc;
}
