/* random.c — CSPRNG values (see random.h). */
#include "random.h"

#include <stdio.h>

#include <openssl/rand.h>

#include "base64url.h"
#include "timeutil.h"

int dbx_random_b64url(dbx_buf *out, size_t nbytes, dbx_err *err)
{
    unsigned char raw[128];
    int rc;
    if (nbytes == 0 || nbytes > sizeof raw)
        return dbx_err_set(err, DBX_ECONFIG, "random value size %zu out of range", nbytes);
    if (RAND_bytes(raw, (int)nbytes) != 1)
        return dbx_err_set(err, DBX_EIO, "OpenSSL's random generator failed");
    rc = dbx_b64url_encode(out, raw, nbytes);
    dbx_wipe(raw, sizeof raw);
    return rc ? dbx_err_set(err, DBX_EIO, "out of memory") : 0;
}

int dbx_uuid4(char out[37], dbx_err *err)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return dbx_err_set(err, DBX_EIO, "OpenSSL's random generator failed");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

uint64_t dbx_jitter_seed(void)
{
    uint64_t s = 0;
    if (RAND_bytes((unsigned char *)&s, sizeof s) != 1 || s == 0)
        s = (uint64_t)(dbx_monotonic() * 1e9) | 1;
    return s;
}

double dbx_jitter_next(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (double)((*state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}
