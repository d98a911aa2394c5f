/* fuzz_cliexpiry.c — libFuzzer driver for the expiry forms of the
 * Databricks CLI's `auth token` output (src/clitoken.c
 * dbx_cli_parse_expiry): RFC 3339 with nanoseconds and offsets, and the
 * zone-less "2024-03-20 10:30:00[.fff]" local-time form the SDKs accept.
 *
 * Input: the expiry string (exact-size heap copy: the parser takes a length
 * and must not read past it, nor stop at an embedded NUL).
 *
 * Checked: returns 0 or -1; on 0 the time is finite and within years
 * 0000..9999 (give or take a day of offsets); whatever dbx_parse_rfc3339
 * accepts, this accepts with the same value (the zoned forms are exactly
 * RFC 3339); an input with a NUL byte or longer than 64 bytes is refused;
 * the same input parses to the same value twice (no hidden state).
 *
 * Run: fuzz/run.sh cliexpiry. Replayed by spec/c/fuzz_cliexpiry_corpus.c. */
#include "fuzz_common.h"

#include <math.h>

#include "clitoken.h"
#include "timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_exact(data, size);
    double t = -1, again = -2, rfc = -3;
    int rc = dbx_cli_parse_expiry(s, size, &t);
    CHECK(rc == 0 || rc == -1);
    if (rc == 0) {
        CHECK(isfinite(t));
        CHECK(t >= -62167219200.0 - 86400.0 * 2 && t < 253402300800.0 + 86400.0 * 2);
        CHECK(size <= 64 && memchr(s, '\0', size) == NULL);
        CHECK(dbx_cli_parse_expiry(s, size, &again) == 0 && again == t);
    }
    if (size <= 64 && dbx_parse_rfc3339(s, size, &rfc) == 0 && memchr(s, '\0', size) == NULL) {
        CHECK(rc == 0);
        CHECK(t == rfc);
    }
    fuzz_free_exact(s, size);
    return 0;
}
