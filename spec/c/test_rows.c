/* test_rows.c — C-level tests of typed values (src/rows.c) and of the cutting
 * of result chunks into batches (src/chunk.c). Property loops over generated
 * inputs: every float path (Clinger, Eisel-Lemire, the strtod fallback)
 * agrees with strtod bit for bit; integers round-trip through their decimal
 * text at every type's bounds; batches cover every row exactly once, in
 * order, within their limits. Run by spec/core_units_spec.lua; prints one
 * line per failed check, then "N checks, N failed"; exits 1 on failure. */
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chunk.h"
#include "rows.h"

#include "check.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int parse(dbx_coltype t, const char *s, dbx_value *v)
{
    return dbx_value_parse(t, 0, s, strlen(s), v);
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Our parse of `text` equals strtod's, bit for bit. */
static void check_float_text(const char *text)
{
    dbx_value v;
    double want = strtod(text, NULL);
    int rc = parse(DBX_COL_DOUBLE, text, &v);
    CHECK(rc == 0 && v.kind == DBX_VAL_FLOAT && (same_bits(v.d, want) || (isnan(v.d) && isnan(want))),
          "DOUBLE \"%s\": got %.17g (rc %d), strtod %.17g", text, rc == 0 ? v.d : 0.0, rc, want);
}

static void test_floats(void)
{
    static const char *fixed[] = {
        "0", "-0", "0.0", "-0.0", "1", "1.0", "-1.5", "3.4028235E38", "1.4E-45", "1.7976931348623157E308",
        "4.9E-324", "2.2250738585072014E-308", "2.2250738585072011e-308", "1e22", "1e23", "9007199254740993",
        "123456789012345678", "1234567890123456789", "12345678901234567890", "0.1", "0.30000000000000004",
        "-4.940977345686854e-07", "-1.5123521954218667e-79", "5e-324", "1e-400", "1e400", "7.2057594037927933e16",
        ".5", "5.", "1E+2", "1e-2", "00012.500", "2.5000000000000000000000000001", "1e308", "1e-308",
        "8.98846567431158e307", "4.4501477170144023e-308", "9.999999999999999e22",
    };
    char buf[64];
    dbx_value v;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        check_float_text(fixed[i]);
    /* Every double, printed as Spark and the simulator print them (shortest
     * round trip, 15-17 digits), and with fewer digits. */
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = rnd() & ~((uint64_t)0x7FF << 52);
        double d;
        bits |= (uint64_t)(1 + rnd() % 2046) << 52; /* a finite normal */
        memcpy(&d, &bits, sizeof d);
        snprintf(buf, sizeof buf, "%.17g", d);
        check_float_text(buf);
        snprintf(buf, sizeof buf, "%.*g", 1 + (int)(rnd() % 17), d);
        check_float_text(buf);
        snprintf(buf, sizeof buf, "%.*e", (int)(rnd() % 18), d);
        check_float_text(buf);
    }
    /* Decimal strings of random digits and exponents (many near halfway). */
    for (int i = 0; i < 100000; i++) {
        int nd = 1 + (int)(rnd() % 19), pos = 0;
        for (int k = 0; k < nd; k++)
            buf[pos++] = (char)('0' + rnd() % 10);
        pos += snprintf(buf + pos, sizeof buf - (size_t)pos, "e%d", (int)(rnd() % 700) - 350);
        check_float_text(buf);
    }
    CHECK(parse(DBX_COL_DOUBLE, "NaN", &v) == 0 && isnan(v.d), "NaN");
    CHECK(parse(DBX_COL_DOUBLE, "Infinity", &v) == 0 && v.d == INFINITY, "Infinity");
    CHECK(parse(DBX_COL_DOUBLE, "-Infinity", &v) == 0 && v.d == -INFINITY, "-Infinity");
    CHECK(parse(DBX_COL_FLOAT, "inf", &v) == 0 && v.d == INFINITY, "inf");
    for (size_t i = 0; i < 10; i++) {
        static const char *bad[] = {"", "-", "+", ".", "e5", "1e", "1e+", "0x10", "1.2.3", "12a"};
        CHECK(parse(DBX_COL_DOUBLE, bad[i], &v) != 0, "DOUBLE accepted \"%s\"", bad[i]);
    }
}

static void test_integers(void)
{
    static const struct {
        dbx_coltype t;
        long long lo, hi;
    } types[] = {
        {DBX_COL_BYTE, -128, 127},
        {DBX_COL_SHORT, -32768, 32767},
        {DBX_COL_INT, INT_MIN, INT_MAX},
        {DBX_COL_LONG, LLONG_MIN, LLONG_MAX},
    };
    char buf[64];
    dbx_value v;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        long long edges[] = {types[i].lo, types[i].hi, 0, -1, 1};
        for (size_t k = 0; k < 5; k++) {
            snprintf(buf, sizeof buf, "%lld", edges[k]);
            CHECK(parse(types[i].t, buf, &v) == 0 && v.kind == DBX_VAL_INTEGER && v.i == edges[k],
                  "%s \"%s\"", dbx_coltype_name(types[i].t), buf);
        }
        if (types[i].t != DBX_COL_LONG) {
            snprintf(buf, sizeof buf, "%lld", types[i].hi + 1);
            CHECK(parse(types[i].t, buf, &v) != 0, "%s accepted %s", dbx_coltype_name(types[i].t), buf);
            snprintf(buf, sizeof buf, "%lld", types[i].lo - 1);
            CHECK(parse(types[i].t, buf, &v) != 0, "%s accepted %s", dbx_coltype_name(types[i].t), buf);
        }
    }
    CHECK(parse(DBX_COL_LONG, "9223372036854775808", &v) != 0, "LONG overflow accepted");
    CHECK(parse(DBX_COL_LONG, "-9223372036854775809", &v) != 0, "LONG underflow accepted");
    CHECK(parse(DBX_COL_LONG, "99999999999999999999999", &v) != 0, "LONG long overflow accepted");
    for (size_t i = 0; i < 7; i++) {
        static const char *bad[] = {"", "-", "1.0", "1e3", " 1", "1 ", "0x1"};
        CHECK(parse(DBX_COL_INT, bad[i], &v) != 0, "INT accepted \"%s\"", bad[i]);
    }
    for (int i = 0; i < 100000; i++) {
        long long x = (long long)rnd();
        snprintf(buf, sizeof buf, "%lld", x);
        CHECK(parse(DBX_COL_LONG, buf, &v) == 0 && v.i == x, "LONG round trip %s", buf);
    }
}

static void test_others(void)
{
    dbx_value v;
    CHECK(parse(DBX_COL_BOOLEAN, "true", &v) == 0 && v.kind == DBX_VAL_BOOLEAN && v.i == 1, "true");
    CHECK(parse(DBX_COL_BOOLEAN, "FALSE", &v) == 0 && v.i == 0, "FALSE");
    CHECK(parse(DBX_COL_BOOLEAN, "yes", &v) != 0, "BOOLEAN accepted yes");
    CHECK(parse(DBX_COL_DECIMAL, "-12345678901234567890.123456789", &v) == 0 && v.kind == DBX_VAL_STRING,
          "DECIMAL stays a string");
    CHECK(parse(DBX_COL_DECIMAL, "1E+10", &v) == 0, "DECIMAL in E notation");
    CHECK(parse(DBX_COL_DECIMAL, "12,5", &v) != 0, "DECIMAL accepted a comma");
    CHECK(dbx_value_parse(DBX_COL_DECIMAL, 1, "2.50", 4, &v) == 0 && v.kind == DBX_VAL_FLOAT && v.d == 2.5,
          "DECIMAL as a number");
    CHECK(parse(DBX_COL_STRING, "anything \"at all\"", &v) == 0 && v.kind == DBX_VAL_STRING, "STRING");
    CHECK(dbx_coltype_of("INT", 3) == DBX_COL_INT && dbx_coltype_of("TIMESTAMP", 9) == DBX_COL_STRING &&
              dbx_coltype_of("DECIMAL", 7) == DBX_COL_DECIMAL,
          "type names");
}

/* A chunk body of `rows` rows with awkward strings; checks the batches. */
static void check_split(size_t rows, size_t batch_bytes, size_t batch_rows, int spaces)
{
    dbx_buf b = {0};
    dbx_chunk_index x = {0};
    dbx_err err;
    size_t seen = 0, next_off = 0;
    int rc;
    dbx_buf_puts(&b, spaces ? " [ " : "[");
    for (size_t r = 0; r < rows; r++) {
        if (r)
            dbx_buf_puts(&b, spaces ? " ,\n" : ",");
        dbx_buf_printf(&b, "[\"%zu\",null,\"q\\\"uo\\\\\",\"[]{}\",\"%s\"]", r, r % 3 ? "x" : "\\\\");
    }
    dbx_buf_puts(&b, spaces ? " ]\r\n" : "]");
    dbx_err_clear(&err);
    rc = dbx_chunk_split(b.data, b.len, batch_bytes, batch_rows, 5, &x, &err);
    CHECK(rc == 0, "split of %zu rows failed: %s", rows, err.message);
    CHECK(x.rows == rows, "split counted %zu rows of %zu", x.rows, rows);
    for (size_t i = 0; i < x.nspans; i++) {
        const dbx_batch_span *s = &x.spans[i];
        CHECK(s->rows > 0 && s->rows <= batch_rows, "batch %zu has %zu rows", i, s->rows);
        CHECK(s->off >= next_off && b.data[s->off] == '[' && b.data[s->off + s->len - 1] == ']',
              "batch %zu is not a run of rows", i);
        CHECK(s->off > 0 && s->off + s->len < b.len, "batch %zu touches the chunk's edges", i);
        next_off = s->off + s->len;
        seen += s->rows;
    }
    CHECK(seen == rows, "batches hold %zu rows of %zu", seen, rows);
    dbx_chunk_index_free(&x);
    dbx_buf_free(&b);
}

static void test_chunks(void)
{
    static const char *bad[] = {
        "", "[", "[[\"a\"]", "[[\"a\"],]", "[\"a\"]", "{}", "[[\"a\"]]x", "[[\"a]]", "[[\"a\"]][", "[[\"a\"] [\"b\"]]",
        "[[\"a\"]}", "[[1]]]",
    };
    dbx_chunk_index x = {0};
    dbx_err err;
    check_split(0, 100, 10, 0);
    check_split(1, 100, 10, 1);
    check_split(1000, 64, 4096, 0);
    check_split(1000, 1 << 20, 7, 1);
    check_split(5000, 4096, 100, 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dbx_err_clear(&err);
        CHECK(dbx_chunk_split(bad[i], strlen(bad[i]), 0, 0, 0, &x, &err) != 0 && err.kind == DBX_EPROTOCOL,
              "split accepted \"%s\"", bad[i]);
        CHECK(strstr(err.message, "at byte") != NULL, "no offset in \"%s\"", err.message);
        dbx_chunk_index_free(&x);
    }
    dbx_err_clear(&err);
    CHECK(dbx_chunk_split("[]", 2, 0, 0, 3, &x, &err) == 0 && x.rows == 0 && x.nspans == 0, "empty chunk");
    dbx_chunk_index_free(&x);
    /* every row must hold the manifest's column count */
    {
        static const char two[] = "[[\"a\",\"b,c\"],[null,[1,2]],[\"c\"]]";
        dbx_err_clear(&err);
        CHECK(dbx_chunk_split(two, sizeof two - 1, 0, 0, 2, &x, &err) != 0 && strstr(err.message, "row 3 of the chunk has 1 values, the result has 2 columns"),
              "column count: %s", err.message);
        dbx_chunk_index_free(&x);
        dbx_err_clear(&err);
        CHECK(dbx_chunk_split("[[],[ ]]", 8, 0, 0, 1, &x, &err) != 0, "an empty row has no value");
        dbx_chunk_index_free(&x);
    }
}

int main(void)
{
    test_floats();
    test_integers();
    test_others();
    test_chunks();
    return CHECK_EXIT();
}
