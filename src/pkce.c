/* pkce.c — the PKCE challenge (see pkce.h); the verifier and state come
 * from random.h. */
#include "pkce.h"

#include <string.h>

#include <openssl/evp.h>

#include "base64url.h"

int dbx_pkce_challenge(const char *verifier, dbx_buf *out, dbx_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL) != 1)
        return dbx_err_set(err, DBX_EIO, "SHA-256 failed");
    return dbx_b64url_encode(out, md, mdlen) ? dbx_err_set(err, DBX_EIO, "out of memory") : 0;
}
