/* token.c — accepting tokens and judging their lifetime (see token.h). */
#include "token.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jwt.h"
#include "redact.h"


double dbx_token_expiry_margin(double ttl)
{
    double m = ttl / 10;
    return m < 40 ? (m > 0 ? m : 0) : 40;
}

double dbx_token_stale_window(double ttl)
{
    double w = ttl / 2;
    return w < 1200 ? (w > 0 ? w : 0) : 1200;
}

dbx_token_state dbx_token_check(const dbx_token *t, double now)
{
    double ttl;
    if (!t->access)
        return DBX_TOKEN_NONE;
    if (t->expires_at <= 0)
        return DBX_TOKEN_FRESH;
    ttl = t->expires_at - t->obtained_at;
    if (now >= t->expires_at - dbx_token_expiry_margin(ttl) || now >= t->expires_at - t->min_margin)
        return DBX_TOKEN_EXPIRED;
    if (now >= t->expires_at - dbx_token_stale_window(ttl))
        return DBX_TOKEN_STALE;
    return DBX_TOKEN_FRESH;
}

/* A token string leaves memory: it is no longer a secret we hold. */
static void wipe_free(char *s)
{
    if (s) {
        dbx_secret_remove(s);
        dbx_wipe(s, strlen(s));
        free(s);
    }
}

void dbx_token_clear(dbx_token *t)
{
    wipe_free(t->access);
    wipe_free(t->refresh);
    memset(t, 0, sizeof *t);
}

int dbx_token_set(dbx_token *t, const char *access, const char *refresh, double expires_at, double now)
{
    char *a = access ? strdup(access) : NULL, *r = refresh ? strdup(refresh) : NULL;
    if ((access && !a) || (refresh && !r)) {
        wipe_free(a);
        wipe_free(r);
        return -1;
    }
    dbx_token_clear(t);
    /* Every token we hold is a known secret until it is released: an echo
     * of it in any message is redacted (redact.h). */
    dbx_secret_add(a);
    dbx_secret_add(r);
    t->access = a;
    t->refresh = r;
    t->expires_at = expires_at;
    t->obtained_at = now;
    t->min_margin = 0;
    t->clock_skew = 0;
    return 0;
}

void dbx_token_move(dbx_token *dst, dbx_token *src)
{
    dbx_token_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

int dbx_token_valid(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

/* Names the first bad byte of s (never the token itself). */
static int refuse(const char *s, const char *which, const char *what, dbx_kind kind, dbx_err *err)
{
    size_t i = 0;
    if (!*s)
        return dbx_err_set(err, kind, "%s: the %s is empty", what, which);
    while ((unsigned char)s[i] >= 0x21 && (unsigned char)s[i] <= 0x7e)
        i++;
    return dbx_err_set(err, kind,
                       "%s: the %s contains byte 0x%02x at position %zu (only printable ASCII is allowed, "
                       "as it travels in an HTTP header): refused",
                       what, which, (unsigned char)s[i], i + 1);
}

static int check_pair(const char *access, const char *refresh, const char *what, dbx_kind kind, dbx_err *err)
{
    if (access && !dbx_token_valid(access))
        return refuse(access, "access token", what, kind, err);
    if (refresh && !dbx_token_valid(refresh))
        return refuse(refresh, "refresh token", what, kind, err);
    return 0;
}

/* The JWT claims of a token, zeroed when it is not a JWT (opaque tokens
 * are fine: a 401 renews them). */
static void claims_of(dbx_jsonenv *env, const char *token, dbx_claims *c)
{
    dbx_err ignored;
    dbx_err_clear(&ignored);
    if (!env || dbx_jwt_claims(env, token, c, &ignored) != 0)
        memset(c, 0, sizeof *c);
}

int dbx_token_accept(dbx_token *t, dbx_jsonenv *env, const char *access, const char *refresh,
                     const dbx_token_life *life, double now, const char *what, dbx_err *err)
{
    dbx_claims c;
    double ttl = -1, skew = 0;
    if (!access)
        return dbx_err_set(err, DBX_EPROTOCOL, "%s: no access token in the answer", what);
    if (check_pair(access, refresh, what, DBX_EPROTOCOL, err) != 0)
        return -1;
    claims_of(env, access, &c);
    if (life->expires_in > 0 && life->expires_in < 1e9) {
        ttl = life->expires_in;
    } else if (life->expires_abs > 0 && life->local_clock) {
        ttl = life->expires_abs - now;
    } else if (life->expires_abs > 0 && life->issuer_now > 0) {
        ttl = life->expires_abs - life->issuer_now;
        skew = now - life->issuer_now;
    } else if (c.exp > 0 && c.iat > 0 && c.exp > c.iat) {
        ttl = c.exp - c.iat;
    } else if (life->expires_abs > 0) {
        ttl = life->expires_abs - now; /* nothing better: trust this clock */
    } else if (c.exp > 0) {
        ttl = c.exp - now;
    }
    if (ttl < 0 && (life->expires_in > 0 || life->expires_abs > 0 || c.exp > 0))
        ttl = 0; /* already expired, as stated */
    else if (ttl < 0 || now + ttl > 253402300799.0)
        ttl = life->default_ttl > 0 ? life->default_ttl : 3600; /* nothing usable stated */
    if (dbx_token_set(t, access, refresh, now + ttl, now) != 0)
        return dbx_err_set(err, DBX_EIO, "out of memory storing a token");
    t->clock_skew = skew;
    return 0;
}

int dbx_token_handed_in(dbx_token *t, dbx_jsonenv *env, const char *access, const char *refresh,
                        double expires_at, double now, const char *what, dbx_err *err)
{
    dbx_claims c;
    double obtained = now;
    if (check_pair(access, refresh, what, DBX_ECONFIG, err) != 0)
        return -1;
    memset(&c, 0, sizeof c);
    if (access)
        claims_of(env, access, &c);
    if (expires_at <= 0)
        expires_at = c.exp; /* 0 for an opaque token: a 401 will renew it */
    if (c.iat > 0 && c.iat < expires_at)
        obtained = c.iat; /* the lifetime is exp - iat, not "what is left now" */
    if (dbx_token_set(t, access, refresh, expires_at, obtained) != 0)
        return dbx_err_set(err, DBX_EIO, "out of memory storing a token");
    t->min_margin = DBX_TOKEN_SDK_BUFFER;
    return 0;
}
