/* pkce.c — PKCE verifier/challenge and state (see pkce.h). */
#include "pkce.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base64url.h"

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

int dbx_pkce_challenge(const char *verifier, dbx_buf *out, dbx_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL) != 1)
        return dbx_err_set(err, DBX_EIO, "SHA-256 failed");
    return dbx_b64url_encode(out, md, mdlen) ? dbx_err_set(err, DBX_EIO, "out of memory") : 0;
}
