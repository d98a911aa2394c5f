/* token.h — a token (OAuth access/refresh token, or a Lakebase password)
 * with its lifetime: the one place where a token enters the connector and
 * where its lifetime is judged.
 *
 * Entering: every token, whatever its source (a token endpoint, the
 * Databricks CLI, a Lakebase credential, the caller's config, a stored
 * file), is accepted through dbx_token_accept / dbx_token_handed_in, which
 * refuse a byte outside printable ASCII: a token travels in an HTTP header
 * (or a .pgpass line), so CR/LF in one would inject a header.
 *
 * Lifetime: judged from what the issuer states — `expires_in`, or its
 * absolute expiry against its own clock (the HTTP Date of the answer), or a
 * JWT's exp − iat — never by comparing this machine's wall clock with the
 * issuer's absolute expiry, so a skewed local clock cannot make every fresh
 * token look expired. The skew seen is kept for the caller to report.
 *
 * Freshness, as the Databricks SDKs do it, scaled for short lifetimes of the
 * tokens we fetch ourselves:
 *   expired  when less than min(40 s, TTL/10) remains — never used then;
 *   stale    when less than min(TTL/2, 20 min) remains — refreshed, but still
 *            used if the refresh fails.
 * A 10-second token is therefore used for 5 s before any refresh and is
 * never fetched on every call; a 1-hour token is refreshed after 40 min.
 * A token handed in by the caller keeps the SDKs' full 40 s buffer
 * (min_margin). A token without expiry (a PAT) is always fresh. Token
 * strings are owned and wiped on release. */
#ifndef DBX_TOKEN_H
#define DBX_TOKEN_H

#include "err.h"
#include "json.h"

/* The SDKs' expiry buffer (expiryDelta): a token is treated as expired this
 * long before its stated expiry. */
#define DBX_TOKEN_SDK_BUFFER 40.0

typedef struct dbx_token {
    char *access;       /* NULL when there is no token */
    char *refresh;      /* NULL when the grant gave none */
    double expires_at;  /* epoch seconds on this machine's clock; 0 = does not expire */
    double obtained_at; /* epoch seconds; expires_at - obtained_at is the lifetime */
    double min_margin;  /* expired at least this long before expires_at (0: scaled only) */
    double clock_skew;  /* this clock minus the issuer's, seconds (0 when unknown) */
} dbx_token;

/* What an issuer said about a new token's lifetime (0 / negative: not said). */
typedef struct dbx_token_life {
    double expires_in;  /* seconds from the answer */
    double expires_abs; /* absolute expiry, epoch seconds on the issuer's clock */
    double issuer_now;  /* the issuer's clock when it answered (HTTP Date) */
    int local_clock;    /* expires_abs was computed on this machine (the CLI) */
    double default_ttl; /* when nothing is said and the token is no JWT (default 3600) */
} dbx_token_life;

/* 1 when s is a usable token: not empty, and only bytes 0x21..0x7E. */
int dbx_token_valid(const char *s);

/* Accepts a new token from an issuer: validates access and refresh (a
 * protocol error naming `what` and the offending byte's position, never the
 * token), judges its lifetime from `life` (and the token's JWT claims), and
 * replaces t. 0, or -1 with err. */
int dbx_token_accept(dbx_token *t, dbx_jsonenv *env, const char *access, const char *refresh,
                     const dbx_token_life *life, double now, const char *what, dbx_err *err);

/* Accepts a token handed in by the caller (config access_token with an
 * optional refresh_token and expires_at): the expiry is the caller's
 * expires_at, else the JWT's exp; the lifetime the JWT's exp − iat; the
 * SDKs' 40 s buffer always applies. Bad bytes are a config error naming
 * `what`. */
int dbx_token_handed_in(dbx_token *t, dbx_jsonenv *env, const char *access, const char *refresh,
                        double expires_at, double now, const char *what, dbx_err *err);

typedef enum dbx_token_state {
    DBX_TOKEN_NONE,
    DBX_TOKEN_FRESH,
    DBX_TOKEN_STALE,
    DBX_TOKEN_EXPIRED
} dbx_token_state;

dbx_token_state dbx_token_check(const dbx_token *t, double now);
double dbx_token_expiry_margin(double ttl);
double dbx_token_stale_window(double ttl);

/* Replaces the strings (copies, no validation: for tokens already accepted,
 * such as a refresh token kept across a refresh); refresh may be NULL to
 * keep none. 0 / -1 (out of memory). */
int dbx_token_set(dbx_token *t, const char *access, const char *refresh, double expires_at, double now);
/* Moves src into dst (dst's old strings are wiped and freed). */
void dbx_token_move(dbx_token *dst, dbx_token *src);
void dbx_token_clear(dbx_token *t);

#endif
