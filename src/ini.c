/* ini.c — INI parser for ~/.databrickscfg (see ini.h). Works line by line
 * on a copy; a pending key/value is emitted when the next non-continuation
 * line (or the end) arrives, so continuation lines can be appended. Duplicate
 * detection is left to the callback, which owns the data. */
#include "ini.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

typedef struct pending {
    dbx_buf key, value;
    int line, active;
} pending;

static int flush(pending *p, const char *section, dbx_ini_cb cb, void *ud, dbx_err *err)
{
    int rc = 0;
    if (p->active) {
        /* configparser strips trailing whitespace of the joined value. */
        while (p->value.len && isspace((unsigned char)p->value.data[p->value.len - 1]))
            p->value.data[--p->value.len] = '\0';
        rc = cb(ud, section, dbx_buf_str(&p->key), dbx_buf_str(&p->value), p->line, err);
    }
    dbx_buf_reset(&p->key);
    dbx_buf_reset(&p->value);
    p->active = 0;
    return rc;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && isspace((unsigned char)**s))
        (*s)++;
    while (*e > *s && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* The Go SDK's inline comment and quote rules (see ini.h) on v[s, e). */
static void go_value(const char **s, const char **e)
{
    const char *v = *s, *end = *e, *c = NULL;
    for (const char *p = v; p + 1 < end; p++)
        if (p[0] == ' ' && p[1] == '#') {
            c = p;
            break;
        }
    for (const char *p = v; !c && p + 1 < end; p++)
        if (p[0] == ' ' && p[1] == ';') {
            c = p;
            break;
        }
    if (c) {
        end = c;
        while (end > v && isspace((unsigned char)end[-1]))
            end--;
    }
    if (end - v >= 2 && (*v == '"' || *v == '\'') && end[-1] == *v && memchr(v + 1, *v, (size_t)(end - v - 1)) == end - 1) {
        v++;
        end--;
    }
    *s = v;
    *e = end;
}

int dbx_ini_parse(const char *text, size_t n, dbx_ini_cb cb, void *ud, dbx_err *err)
{
    const char *p = text, *end = text + n;
    dbx_buf section = {0};
    pending pend = {{0}, {0}, 0, 0};
    int line = 0, rc = -1, have_section = 0;

    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* UTF-8 BOM */
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *s = p, *e = eol ? eol : end;
        int indented;
        line++;
        p = eol ? eol + 1 : end;
        if (memchr(s, '\0', (size_t)(e - s))) {
            dbx_err_set(err, DBX_ECONFIG, "line %d contains a NUL byte", line);
            goto done;
        }
        indented = s < e && (*s == ' ' || *s == '\t');
        trim(&s, &e);
        if (s == e) {
            /* A blank line ends a value (configparser keeps it only between
             * continuation lines; we never need multi-paragraph values). */
            if (flush(&pend, dbx_buf_str(&section), cb, ud, err))
                goto done;
            continue;
        }
        if (*s == '#' || *s == ';')
            continue;
        if (indented && pend.active) {
            if (dbx_buf_append(&pend.value, "\n", 1) || dbx_buf_append(&pend.value, s, (size_t)(e - s)))
                goto oom;
            continue;
        }
        if (flush(&pend, dbx_buf_str(&section), cb, ud, err))
            goto done;
        if (*s == '[') {
            const char *rb = memchr(s, ']', (size_t)(e - s));
            const char *ns = s + 1, *ne;
            if (!rb) {
                dbx_err_set(err, DBX_ECONFIG, "line %d: section header without ']'", line);
                goto done;
            }
            ne = rb;
            trim(&ns, &ne);
            if (ns == ne) {
                dbx_err_set(err, DBX_ECONFIG, "line %d: empty section name", line);
                goto done;
            }
            dbx_buf_reset(&section);
            if (dbx_buf_append(&section, ns, (size_t)(ne - ns)))
                goto oom;
            have_section = 1;
            if (cb(ud, dbx_buf_str(&section), NULL, NULL, line, err))
                goto done;
            continue;
        }
        {
            const char *eq = s;
            const char *ks = s, *ke, *vs, *ve = e;
            while (eq < e && *eq != '=' && *eq != ':')
                eq++;
            if (eq == e) {
                dbx_err_set(err, DBX_ECONFIG, "line %d: expected 'key = value' or a [section]", line);
                goto done;
            }
            if (!have_section) {
                dbx_err_set(err, DBX_ECONFIG, "line %d: 'key = value' before any [section] header", line);
                goto done;
            }
            ke = eq;
            vs = eq + 1;
            trim(&ks, &ke);
            trim(&vs, &ve);
            go_value(&vs, &ve);
            if (ks == ke) {
                dbx_err_set(err, DBX_ECONFIG, "line %d: empty key", line);
                goto done;
            }
            for (const char *k = ks; k < ke; k++) {
                char c = (char)tolower((unsigned char)*k);
                if (dbx_buf_append(&pend.key, &c, 1))
                    goto oom;
            }
            if (dbx_buf_append(&pend.value, vs, (size_t)(ve - vs)))
                goto oom;
            pend.line = line;
            pend.active = 1;
        }
    }
    if (flush(&pend, dbx_buf_str(&section), cb, ud, err))
        goto done;
    rc = 0;
    goto done;
oom:
    dbx_err_set(err, DBX_EIO, "out of memory reading a config file");
done:
    dbx_buf_free(&section);
    dbx_buf_free(&pend.key);
    dbx_buf_free(&pend.value);
    return rc;
}
