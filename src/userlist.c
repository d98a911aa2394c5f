/* userlist.c — pgbouncer's auth_file, read and rewritten (see userlist.h).
 * The scanner follows pgbouncer's loader step by step: skip white space
 * (line ends included), skip a ';' line, else expect '"', the user up to a
 * '"' that is not doubled, then anything up to the next '"', the password
 * up to a '"' that is not doubled, then the rest of the line. */
#include "userlist.h"

#include <ctype.h>
#include <string.h>

const char *dbx_userlist_action_name(dbx_userlist_action a)
{
    static const char *const names[] = {"created", "appended", "inserted", "replaced", "unchanged"};
    return (size_t)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

typedef struct record {
    size_t start;          /* offset of the user's opening quote */
    size_t user, user_len; /* raw (escaped) user field */
    size_t pw, pw_len;     /* raw (escaped) password field */
    size_t end;            /* offset after the line's '\n' (or n) */
    size_t line;           /* 1-based line of `start` */
} record;

/* The end of a quoted field starting at s[i] (after its opening quote):
 * the offset of its closing quote, or n when there is none. */
static size_t field_end(const char *s, size_t n, size_t i)
{
    for (;;) {
        while (i < n && s[i] != '"')
            i++;
        if (i + 1 < n && s[i + 1] == '"') {
            i += 2;
            continue;
        }
        return i;
    }
}

static size_t count_lines(const char *s, size_t from, size_t to, size_t line)
{
    for (size_t i = from; i < to; i++)
        if (s[i] == '\n')
            line++;
    return line;
}

/* The next record at or after *pos. 1 found, 0 end of text, -1 pgbouncer
 * stops here (broken; *pos is the start of the broken line). */
static int next_record(const char *s, size_t n, size_t *pos, size_t *line, record *r)
{
    size_t i = *pos;
    for (;;) {
        size_t before = i;
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        *line = count_lines(s, before, i, *line);
        if (i >= n) {
            *pos = n;
            return 0;
        }
        if (s[i] != ';')
            break;
        while (i < n && s[i] != '\n')
            i++;
    }
    r->start = i;
    r->line = *line;
    if (s[i] != '"') {
        *pos = i;
        return -1;
    }
    r->user = i + 1;
    i = field_end(s, n, r->user);
    if (i >= n) {
        *pos = r->start;
        return -1;
    }
    r->user_len = i - r->user;
    i++;
    while (i < n && s[i] != '"')
        i++;
    if (i >= n) {
        *pos = r->start;
        return -1;
    }
    r->pw = i + 1;
    i = field_end(s, n, r->pw);
    if (i >= n) {
        *pos = r->start;
        return -1;
    }
    r->pw_len = i - r->pw;
    while (i < n && s[i] != '\n')
        i++;
    r->end = i < n ? i + 1 : n;
    *line = count_lines(s, r->start, r->end, *line);
    *pos = r->end;
    return 1;
}

/* 1 when the raw field, unquoted as pgbouncer does, equals v. */
static int field_equals(const char *raw, size_t len, const char *v)
{
    size_t j = 0, vn = strlen(v);
    for (size_t i = 0; i < len; i++, j++) {
        if (raw[i] == '"')
            i++; /* a doubled quote stands for one */
        if (i >= len || j >= vn || v[j] != raw[i])
            return 0;
    }
    return j == vn;
}

/* pgbouncer reads the file as a C string: nothing after a NUL byte. */
static size_t readable(const char *in, size_t n)
{
    const char *nul = memchr(in, '\0', n);
    return nul ? (size_t)(nul - in) : n;
}

static int unquote(dbx_buf *out, const char *raw, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (raw[i] == '"')
            i++;
        if (i < len && dbx_buf_append(out, raw + i, 1) != 0)
            return -1;
    }
    return 0;
}

int dbx_userlist_quote(dbx_buf *out, const char *s)
{
    if (dbx_buf_append(out, "\"", 1) != 0)
        return -1;
    for (; *s; s++)
        if ((*s == '"' && dbx_buf_append(out, "\"", 1) != 0) || dbx_buf_append(out, s, 1) != 0)
            return -1;
    return dbx_buf_append(out, "\"", 1);
}

int dbx_userlist_check(const char *user, const char *password, dbx_err *err)
{
    if (!user || !*user || strpbrk(user, "\r\n"))
        return dbx_err_set(err, DBX_ECONFIG, "the pgbouncer user name must be one non-empty line");
    if (!password || !*password || strpbrk(password, "\r\n"))
        return dbx_err_set(err, DBX_ECONFIG, "the password for the pgbouncer auth_file must be one non-empty line");
    return 0;
}

int dbx_userlist_find(const char *in, size_t n, const char *user, dbx_buf *password)
{
    size_t pos = 0, line = 1;
    record r, last;
    int found = 0, rc;
    n = readable(in, n);
    while ((rc = next_record(in, n, &pos, &line, &r)) == 1)
        if (field_equals(in + r.user, r.user_len, user)) {
            last = r;
            found = 1;
        }
    if (!found)
        return 0;
    return unquote(password, in + last.pw, last.pw_len) == 0 ? 1 : -1;
}

/* "\r\n" when the text's first line end is one, else "\n". */
static const char *line_end(const char *in, size_t n)
{
    const char *nl = memchr(in, '\n', n);
    return nl && nl > in && nl[-1] == '\r' ? "\r\n" : "\n";
}

int dbx_userlist_rewrite(const char *in, size_t n, int existed, const char *user, const char *password,
                         dbx_buf *out, dbx_userlist_edit *r)
{
    dbx_buf quoted = {0};
    size_t pos = 0, line = 1, copied = 0, total = n, at;
    record rec;
    int rc = -1, state;

    memset(r, 0, sizeof *r);
    n = readable(in, n); /* what pgbouncer reads; the rest is kept as it is */
    if (dbx_userlist_quote(&quoted, password) != 0)
        goto done;
    /* Every line of the user up to where pgbouncer stops reading gets the
     * new password, in place (pgbouncer keeps the last one it reads). Past
     * that point nothing is touched: pgbouncer never reads it, and an edit
     * there could change how the unreadable part parses. */
    while ((state = next_record(in, n, &pos, &line, &rec)) == 1) {
        if (!field_equals(in + rec.user, rec.user_len, user))
            continue;
        r->replaced++;
        if (rec.pw_len + 2 == quoted.len && memcmp(in + rec.pw, quoted.data + 1, rec.pw_len) == 0)
            continue; /* already this password, byte for byte */
        if (dbx_buf_append(out, in + copied, rec.pw - 1 - copied) != 0 ||
            dbx_buf_append(out, quoted.data, quoted.len) != 0)
            goto done;
        copied = rec.pw + rec.pw_len + 1;
        r->changed = 1;
    }
    if (state < 0 || n < total)
        r->broken_line = line;
    if (r->replaced) {
        if (dbx_buf_append(out, in + copied, total - copied) != 0)
            goto done;
        r->action = r->changed ? DBX_USERLIST_REPLACED : DBX_USERLIST_UNCHANGED;
        rc = 0;
        goto done;
    }
    /* A new line: above the first line pgbouncer cannot read (or the NUL
     * byte that ends what it reads), else at the end. */
    at = state < 0 ? pos : n;
    if (r->broken_line) {
        size_t p2 = at, l2 = line;
        record later;
        /* The user listed beyond that point: never read, so left stale. */
        while (p2 < total) {
            while (p2 < total && in[p2] != '\n')
                p2++;
            if (p2 < total)
                p2++;
            if (next_record(in, readable(in + p2, total - p2) + p2, &p2, &l2, &later) == 1 &&
                field_equals(in + later.user, later.user_len, user))
                r->unreachable = 1;
        }
    }
    {
        const char *eol = line_end(in, n);
        if (dbx_buf_append(out, in, at) != 0)
            goto done;
        if (at > 0 && in[at - 1] != '\n' && dbx_buf_puts(out, eol) != 0)
            goto done;
        if (dbx_userlist_quote(out, user) != 0 || dbx_buf_append(out, " ", 1) != 0 ||
            dbx_buf_append(out, quoted.data, quoted.len) != 0 || dbx_buf_puts(out, eol) != 0 ||
            dbx_buf_append(out, in + at, total - at) != 0)
            goto done;
        r->action = !existed ? DBX_USERLIST_CREATED : r->broken_line ? DBX_USERLIST_INSERTED : DBX_USERLIST_APPENDED;
        r->changed = 1;
        rc = 0;
    }
done:
    dbx_buf_free(&quoted);
    return rc;
}
