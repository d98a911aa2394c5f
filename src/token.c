/* token.c — token lifetime rules (see token.h). */
#include "token.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

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
    if (now >= t->expires_at - dbx_token_expiry_margin(ttl))
        return DBX_TOKEN_EXPIRED;
    if (now >= t->expires_at - dbx_token_stale_window(ttl))
        return DBX_TOKEN_STALE;
    return DBX_TOKEN_FRESH;
}

static void wipe_free(char *s)
{
    if (s) {
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
    t->access = a;
    t->refresh = r;
    t->expires_at = expires_at;
    t->obtained_at = now;
    return 0;
}

void dbx_token_move(dbx_token *dst, dbx_token *src)
{
    dbx_token_clear(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}
