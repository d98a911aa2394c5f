/* base64url.c — base64url codec (see base64url.h). */
#include "base64url.h"

static const char url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int encode(dbx_buf *out, const unsigned char *p, size_t n, const char *a, int pad)
{
    for (size_t i = 0; i < n; i += 3) {
        size_t left = n - i;
        unsigned v = (unsigned)p[i] << 16 | (left > 1 ? (unsigned)p[i + 1] << 8 : 0) |
                     (left > 2 ? p[i + 2] : 0);
        char q[4] = {a[v >> 18], a[(v >> 12) & 63], left > 1 ? a[(v >> 6) & 63] : '=',
                     left > 2 ? a[v & 63] : '='};
        size_t len = pad ? 4 : (left > 2 ? 4 : left + 1);
        if (dbx_buf_append(out, q, len))
            return -1;
    }
    /* Make sure an empty encoding still yields a valid "" buffer. */
    return dbx_buf_append(out, "", 0);
}

int dbx_b64url_encode(dbx_buf *out, const unsigned char *p, size_t n)
{
    return encode(out, p, n, url_alphabet, 0);
}

int dbx_b64_encode(dbx_buf *out, const unsigned char *p, size_t n)
{
    return encode(out, p, n, std_alphabet, 1);
}

static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

int dbx_b64url_decode(dbx_buf *out, const char *s, size_t n)
{
    unsigned acc = 0;
    int bits = 0;
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = value_of((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            unsigned char byte = (unsigned char)(acc >> (bits - 8));
            bits -= 8;
            if (dbx_buf_append(out, &byte, 1))
                return -1;
        }
    }
    return dbx_buf_append(out, "", 0);
}
