/* buf.c — growable buffer (see buf.h). Growth doubles; the old block is wiped
 * before it is released because buffers carry tokens and form bodies with
 * client secrets. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dbx_wipe(void *p, size_t n)
{
    if (!p || !n)
        return;
    memset(p, 0, n);
    /* The barrier tells the compiler the zeroed memory is used, so the
     * memset of a buffer about to be freed is not optimised away. */
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

/* Moves the contents into a new block of exactly `cap` bytes (>= len+1);
 * the old block is wiped before it is freed. */
static int reallocate(dbx_buf *b, size_t cap)
{
    char *nd = malloc(cap);
    if (!nd)
        return -1;
    if (b->data) {
        memcpy(nd, b->data, b->len + 1);
        dbx_wipe(b->data, b->cap);
        free(b->data);
    } else {
        nd[0] = '\0';
    }
    b->data = nd;
    b->cap = cap;
    return 0;
}

static int grow(dbx_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 256;
    if (b->limit && need > b->limit + 1)
        return -1;
    if (need <= b->cap)
        return 0;
    while (cap < need) {
        if (cap > ((size_t)-1) / 2)
            return -1;
        cap *= 2;
    }
    return reallocate(b, cap);
}

int dbx_buf_reserve(dbx_buf *b, size_t more)
{
    size_t need;
    if (more >= ((size_t)-1) - b->len - 1)
        return -1;
    need = b->len + more + 1;
    if (b->limit && need > b->limit + 1)
        return -1;
    return need <= b->cap ? 0 : reallocate(b, need);
}

int dbx_buf_append(dbx_buf *b, const void *p, size_t n)
{
    if (n > ((size_t)-1) - b->len - 1 || grow(b, b->len + n + 1) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int dbx_buf_puts(dbx_buf *b, const char *s)
{
    return dbx_buf_append(b, s, strlen(s));
}

int dbx_buf_printf(dbx_buf *b, const char *fmt, ...)
{
    va_list ap, aq;
    int n;
    va_start(ap, fmt);
    va_copy(aq, ap);
    n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0 || grow(b, b->len + (size_t)n + 1) != 0) {
        va_end(ap);
        return -1;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int dbx_buf_json_string(dbx_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    if (dbx_buf_append(b, "\"", 1) != 0)
        return -1;
    for (; *p; p++) {
        char esc[7];
        size_t n = 0;
        switch (*p) {
        case '"': memcpy(esc, "\\\"", n = 2); break;
        case '\\': memcpy(esc, "\\\\", n = 2); break;
        case '\n': memcpy(esc, "\\n", n = 2); break;
        case '\r': memcpy(esc, "\\r", n = 2); break;
        case '\t': memcpy(esc, "\\t", n = 2); break;
        default:
            if (*p < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 15];
                n = 6;
            }
        }
        if (n ? dbx_buf_append(b, esc, n) : dbx_buf_append(b, p, 1))
            return -1;
    }
    return dbx_buf_append(b, "\"", 1);
}

int dbx_buf_urlencode(dbx_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++) {
        int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                   (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        if (keep ? dbx_buf_append(b, p, 1) : dbx_buf_append(b, enc, 3))
            return -1;
    }
    return 0;
}

const char *dbx_buf_str(const dbx_buf *b)
{
    return b->data ? b->data : "";
}

void dbx_buf_reset(dbx_buf *b)
{
    if (b->data) {
        dbx_wipe(b->data, b->len);
        b->data[0] = '\0';
    }
    b->len = 0;
}

void dbx_buf_free(dbx_buf *b)
{
    if (b->data) {
        dbx_wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}
