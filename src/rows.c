/* rows.c — typed values of result rows (see rows.h).
 *
 * Speed matters: a typed row costs these parsers on top of the JSON decode,
 * and the target is at most 1.2x an untyped row. Integers are parsed by
 * hand (no strtoll, no errno). Floats:
 *   1. Clinger's fast path when the decimal significand has at most 15
 *      digits and the power of ten at most 22 (both exact in a double, so
 *      one multiplication or division rounds correctly);
 *   2. else the Eisel-Lemire algorithm (D. Lemire, "Number parsing at a
 *      gigabyte per second", 2021): the significand (up to 19 digits) times
 *      a 128-bit approximation of the power of ten, which decides the
 *      correctly rounded double in all but rare near-halfway cases. This
 *      matters: a DOUBLE's shortest round-trip text usually has 16-17
 *      digits and an exponent far from 0, and glibc's strtod takes its
 *      multi-precision path for those, at ~10x the cost;
 *   3. the rare rest (ambiguous products, subnormals, overflow, more than
 *      19 significant digits) goes to strtod, on a copy whose '.' is the
 *      current locale's decimal point, because strtod reads the locale and
 *      the host may have set one.
 * The table of 128-bit powers of ten is computed once, exactly, with a
 * small big-number routine (pthread_once): ~10 KB, a few milliseconds, no
 * generated source to trust. spec/c/test_rows.c checks every path against
 * strtod bit for bit. */
#include "rows.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    dbx_coltype type;
} TYPES[] = {
    {"BYTE", DBX_COL_BYTE},       {"SHORT", DBX_COL_SHORT},   {"INT", DBX_COL_INT},
    {"LONG", DBX_COL_LONG},       {"FLOAT", DBX_COL_FLOAT},   {"DOUBLE", DBX_COL_DOUBLE},
    {"BOOLEAN", DBX_COL_BOOLEAN}, {"DECIMAL", DBX_COL_DECIMAL},
};

dbx_coltype dbx_coltype_of(const char *type_name, size_t n)
{
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strlen(TYPES[i].name) == n && memcmp(TYPES[i].name, type_name, n) == 0)
            return TYPES[i].type;
    return DBX_COL_STRING;
}

const char *dbx_coltype_name(dbx_coltype t)
{
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (TYPES[i].type == t)
            return TYPES[i].name;
    return "STRING";
}

/* Case-insensitive comparison of s[0..n) with a lower-case word. */
static int word_is(const char *s, size_t n, const char *word)
{
    size_t k = strlen(word);
    if (n != k)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return 0;
    }
    return 1;
}

/* Up to 18 digits cannot overflow 64 bits, so the loop has no check (no
 * division per digit); a 19-digit value is checked once against the limit;
 * more digits (after leading zeros) are out of range. */
static int parse_integer(const char *s, size_t n, long long lo, long long hi, long long *out)
{
    size_t i = 0, digits;
    int neg = 0;
    unsigned long long v = 0, limit;
    long long r;
    if (n && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return -1;
    while (i + 1 < n && s[i] == '0')
        i++;
    digits = n - i;
    if (digits > 19)
        return -1;
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        v = v * 10 + d; /* 19 digits fit in 64 unsigned bits */
    }
    limit = neg ? (unsigned long long)LLONG_MAX + 1u : (unsigned long long)LLONG_MAX;
    if (v > limit)
        return -1;
    if (neg)
        r = v == (unsigned long long)LLONG_MAX + 1u ? LLONG_MIN : -(long long)v;
    else
        r = (long long)v;
    if (r < lo || r > hi)
        return -1;
    *out = r;
    return 0;
}

/* The decimal-number grammar only (a DECIMAL kept as its exact string):
 * [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)? */
static int is_decimal(const char *s, size_t n)
{
    size_t i = n && (s[0] == '-' || s[0] == '+'), digits = 0;
    for (; i < n && (unsigned)(s[i] - '0') <= 9; i++)
        digits++;
    if (i < n && s[i] == '.')
        for (i++; i < n && (unsigned)(s[i] - '0') <= 9; i++)
            digits++;
    if (!digits)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = 0;
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        for (; i < n && (unsigned)(s[i] - '0') <= 9; i++)
            e++;
        if (!e)
            return 0;
    }
    return i == n;
}

/* Checks the decimal-number grammar [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)? and
 * gathers what the fast path needs: the significand's first 19 significant
 * digits, how many there were, whether any were dropped, and the power of
 * ten. Returns 0 or -1 (not a number). */
typedef struct numparts {
    int neg;
    unsigned long long m;
    int sig;     /* significant digits kept in m */
    int dropped; /* non-zero digits beyond the 19 kept */
    long e10;
} numparts;

static int scan_number(const char *s, size_t n, numparts *p)
{
    size_t i = 0;
    int digits = 0;
    long exp = 0;
    memset(p, 0, sizeof *p);
    if (n && (s[0] == '-' || s[0] == '+')) {
        p->neg = s[0] == '-';
        i = 1;
    }
    /* Leading zeros carry nothing; then every digit is significant, the
     * first 19 go into m. */
    for (; i < n && s[i] == '0'; i++)
        digits++;
    for (; i < n && (unsigned)(s[i] - '0') <= 9; i++, digits++) {
        if (p->sig < 19) {
            p->m = p->m * 10 + (unsigned)(s[i] - '0');
            p->sig++;
        } else {
            p->e10++;
            p->dropped |= s[i] != '0';
        }
    }
    if (i < n && s[i] == '.') {
        i++;
        if (p->sig == 0)
            for (; i < n && s[i] == '0'; i++, digits++)
                p->e10--;
        for (; i < n && (unsigned)(s[i] - '0') <= 9; i++, digits++) {
            if (p->sig < 19) {
                p->m = p->m * 10 + (unsigned)(s[i] - '0');
                p->sig++;
                p->e10--;
            } else {
                p->dropped |= s[i] != '0';
            }
        }
    }
    if (digits == 0)
        return -1;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0, edigits = 0;
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+')) {
            eneg = s[i] == '-';
            i++;
        }
        for (; i < n && (unsigned)(s[i] - '0') <= 9; i++, edigits++)
            if (exp < 100000)
                exp = exp * 10 + (s[i] - '0');
        if (edigits == 0)
            return -1;
        p->e10 += eneg ? -exp : exp;
    }
    return i == n ? 0 : -1;
}

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                               1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The slow path: strtod on a NUL-terminated copy in the C notation of the
 * current locale. */
static int slow_float(const char *s, size_t n, double *out)
{
    char buf[512], *end;
    char point = '.';
    const struct lconv *lc = localeconv();
    if (n >= sizeof buf)
        return -1;
    if (lc && lc->decimal_point && lc->decimal_point[0] && !lc->decimal_point[1])
        point = lc->decimal_point[0];
    for (size_t i = 0; i < n; i++)
        buf[i] = s[i] == '.' ? point : s[i];
    buf[n] = '\0';
    *out = strtod(buf, &end);
    return end == buf + n ? 0 : -1;
}

/* ---- Eisel-Lemire ---------------------------------------------------------------------- */

#define POW10_MIN (-342)
#define POW10_MAX 308

/* 10^q normalised into [2^127, 2^128): hi:lo = 10^q * 2^(127 - floor(log2 10^q)),
 * truncated for q >= 0 and rounded up for q < 0 (the bounds the algorithm's
 * proof needs). */
static uint64_t pow10_table[POW10_MAX - POW10_MIN + 1][2];
static pthread_once_t pow10_once = PTHREAD_ONCE_INIT;

#define BIG_LIMBS 30 /* 32-bit limbs: 5^342 has 795 bits */

typedef struct big {
    uint32_t d[BIG_LIMBS]; /* little-endian */
    int n;                 /* limbs in use */
} big;

static void big_mul_small(big *b, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t v = (uint64_t)b->d[i] * m + carry;
        b->d[i] = (uint32_t)v;
        carry = v >> 32;
    }
    if (carry)
        b->d[b->n++] = (uint32_t)carry;
}

static int big_bits(const big *b)
{
    uint32_t top = b->d[b->n - 1];
    int bits = 0;
    while (top) {
        bits++;
        top >>= 1;
    }
    return (b->n - 1) * 32 + bits;
}

static int big_bit(const big *b, int i)
{
    return i >= 0 && i / 32 < b->n ? (int)((b->d[i / 32] >> (i % 32)) & 1) : 0;
}

static int big_cmp(const big *a, const big *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->d[i] != b->d[i])
            return a->d[i] < b->d[i] ? -1 : 1;
    return 0;
}

static void big_shl1(big *b)
{
    uint32_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint32_t v = b->d[i];
        b->d[i] = (v << 1) | carry;
        carry = v >> 31;
    }
    if (carry)
        b->d[b->n++] = carry;
}

static void big_sub(big *a, const big *b) /* a >= b */
{
    int64_t borrow = 0;
    for (int i = 0; i < a->n; i++) {
        int64_t v = (int64_t)a->d[i] - (i < b->n ? (int64_t)b->d[i] : 0) - borrow;
        borrow = v < 0;
        a->d[i] = (uint32_t)(v + (borrow ? ((int64_t)1 << 32) : 0));
    }
    while (a->n > 1 && a->d[a->n - 1] == 0)
        a->n--;
}

static void pow10_init(void)
{
    big p = {{1}, 1};
    /* q >= 0: the top 128 bits of 5^q (the 2^q only moves the exponent). */
    for (int q = 0; q <= POW10_MAX; q++) {
        int bits = big_bits(&p);
        uint64_t hi = 0, lo = 0;
        for (int i = 0; i < 128; i++) {
            int bit = big_bit(&p, bits - 1 - i);
            hi = (hi << 1) | (lo >> 63);
            lo = (lo << 1) | (uint64_t)bit;
        }
        pow10_table[q - POW10_MIN][0] = hi;
        pow10_table[q - POW10_MIN][1] = lo;
        big_mul_small(&p, 5);
    }
    /* q < 0: ceil(2^(n+127) / 5^-q) where 5^-q has n bits: 128 quotient
     * bits by long division, rounded up. */
    p.d[0] = 5;
    p.n = 1;
    for (int q = -1; q >= POW10_MIN; q--) {
        int n = big_bits(&p);
        big r;
        uint64_t hi = 0, lo = 0;
        memset(&r, 0, sizeof r);
        r.n = (n - 1) / 32 + 1;
        r.d[(n - 1) / 32] = (uint32_t)1 << ((n - 1) % 32); /* 2^(n-1) < 5^-q */
        for (int i = 0; i < 128; i++) {
            int bit = 0;
            big_shl1(&r);
            if (big_cmp(&r, &p) >= 0) {
                big_sub(&r, &p);
                bit = 1;
            }
            hi = (hi << 1) | (lo >> 63);
            lo = (lo << 1) | (uint64_t)bit;
        }
        if (!(r.n == 1 && r.d[0] == 0) && ++lo == 0)
            hi++;
        pow10_table[q - POW10_MIN][0] = hi;
        pow10_table[q - POW10_MIN][1] = lo;
        big_mul_small(&p, 5);
    }
}

static void mul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
#ifdef __SIZEOF_INT128__
    unsigned __int128 p = (unsigned __int128)a * b;
    *hi = (uint64_t)(p >> 64);
    *lo = (uint64_t)p;
#else
    uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    *lo = (mid << 32) | (uint32_t)p00;
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
#endif
}

static int clz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_clzll(x);
#else
    int n = 0;
    while (!(x & ((uint64_t)1 << 63))) {
        x <<= 1;
        n++;
    }
    return n;
#endif
}

/* w * 10^q correctly rounded, or -1 when this path cannot decide (the
 * caller falls back to strtod). w != 0, at most 19 digits. */
static int eisel_lemire(uint64_t w, long q, int neg, double *out)
{
    uint64_t hi, lo, mant, bits;
    int lz, upper;
    long e2;
    if (q < POW10_MIN || q > POW10_MAX)
        return -1;
    pthread_once(&pow10_once, pow10_init);
    lz = clz64(w);
    w <<= lz;
    mul64(w, pow10_table[q - POW10_MIN][0], &hi, &lo);
    if ((hi & 0x1FF) == 0x1FF && lo + w < w) {
        /* The truncated product may be off in the bits that decide: take
         * the table's low half into account. */
        uint64_t hi2, lo2;
        mul64(w, pow10_table[q - POW10_MIN][1], &hi2, &lo2);
        lo += hi2;
        if (lo < hi2)
            hi++;
        if ((hi & 0x1FF) == 0x1FF && lo + 1 == 0 && lo2 + w < w)
            return -1;
    }
    upper = (int)(hi >> 63);
    mant = hi >> (upper + 9); /* 54 bits */
    /* floor(log2(10^q)) is (217706 * q) >> 16 over the table's range. */
    e2 = ((217706L * q) >> 16) + 1087 - lz - (1 - upper);
    if (lo == 0 && (hi & 0x1FF) == 0 && (mant & 3) == 1)
        return -1; /* maybe exactly halfway: the truncation hides it */
    mant += mant & 1;
    mant >>= 1;
    if (mant >> 53) {
        mant >>= 1;
        e2++;
    }
    if (e2 <= 0 || e2 >= 0x7FF)
        return -1; /* subnormal or infinite: strtod knows */
    bits = ((uint64_t)e2 << 52) | (mant & (((uint64_t)1 << 52) - 1)) | ((uint64_t)neg << 63);
    memcpy(out, &bits, sizeof *out);
    return 0;
}

static int parse_float(const char *s, size_t n, double *out)
{
    numparts p;
    size_t i = n && (s[0] == '-' || s[0] == '+');
    if (i < n && (s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') { /* a word, not digits */
        if (word_is(s + i, n - i, "nan")) {
            *out = NAN;
            return 0;
        }
        if (word_is(s + i, n - i, "infinity") || word_is(s + i, n - i, "inf")) {
            *out = i && s[0] == '-' ? -INFINITY : INFINITY;
            return 0;
        }
        return -1;
    }
    if (scan_number(s, n, &p) != 0)
        return -1;
    if (p.m == 0 && !p.dropped) {
        *out = p.neg ? -0.0 : 0.0;
        return 0;
    }
    if (!p.dropped && p.sig <= 15 && p.e10 >= -22 && p.e10 <= 22) {
        double v = (double)p.m; /* exact: m < 10^15 < 2^53 */
        v = p.e10 >= 0 ? v * POW10[p.e10] : v / POW10[-p.e10];
        *out = p.neg ? -v : v;
        return 0;
    }
    if (!p.dropped && eisel_lemire(p.m, p.e10, p.neg, out) == 0)
        return 0;
    return slow_float(s, n, out);
}

int dbx_value_parse(dbx_coltype t, int decimal_number, const char *s, size_t n, dbx_value *out)
{
    out->kind = DBX_VAL_STRING;
    switch (t) {
    case DBX_COL_BYTE:
        out->kind = DBX_VAL_INTEGER;
        return parse_integer(s, n, -128, 127, &out->i);
    case DBX_COL_SHORT:
        out->kind = DBX_VAL_INTEGER;
        return parse_integer(s, n, -32768, 32767, &out->i);
    case DBX_COL_INT:
        out->kind = DBX_VAL_INTEGER;
        return parse_integer(s, n, -2147483647 - 1, 2147483647, &out->i);
    case DBX_COL_LONG:
        out->kind = DBX_VAL_INTEGER;
        return parse_integer(s, n, LLONG_MIN, LLONG_MAX, &out->i);
    case DBX_COL_FLOAT:
    case DBX_COL_DOUBLE:
        out->kind = DBX_VAL_FLOAT;
        return parse_float(s, n, &out->d);
    case DBX_COL_BOOLEAN:
        out->kind = DBX_VAL_BOOLEAN;
        if (word_is(s, n, "true"))
            out->i = 1;
        else if (word_is(s, n, "false"))
            out->i = 0;
        else
            return -1;
        return 0;
    case DBX_COL_DECIMAL:
        if (decimal_number) {
            out->kind = DBX_VAL_FLOAT;
            return is_decimal(s, n) ? parse_float(s, n, &out->d) : -1;
        }
        return is_decimal(s, n) ? 0 : -1;
    case DBX_COL_STRING:
    default:
        return 0;
    }
}
