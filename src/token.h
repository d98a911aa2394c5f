/* token.h — an OAuth token with its lifetime, and the freshness rules the
 * Databricks SDKs use, scaled for short lifetimes:
 *   expired  when less than min(40 s, TTL/10) remains — never used then;
 *   stale    when less than min(TTL/2, 20 min) remains — refreshed, but still
 *            used if the refresh fails.
 * A 10-second token is therefore used for 5 s before any refresh and is
 * never fetched on every call; a 1-hour token is refreshed after 40 min.
 * A token without expiry (a PAT) is always fresh. Token strings are owned
 * and wiped on release. */
#ifndef DBX_TOKEN_H
#define DBX_TOKEN_H

typedef struct dbx_token {
    char *access;       /* NULL when there is no token */
    char *refresh;      /* NULL when the grant gave none */
    double expires_at;  /* epoch seconds; 0 = does not expire */
    double obtained_at; /* epoch seconds */
} dbx_token;

typedef enum dbx_token_state {
    DBX_TOKEN_NONE,
    DBX_TOKEN_FRESH,
    DBX_TOKEN_STALE,
    DBX_TOKEN_EXPIRED
} dbx_token_state;

dbx_token_state dbx_token_check(const dbx_token *t, double now);
double dbx_token_expiry_margin(double ttl);
double dbx_token_stale_window(double ttl);

/* Replaces the strings (copies); refresh may be NULL to keep none. 0 / -1. */
int dbx_token_set(dbx_token *t, const char *access, const char *refresh, double expires_at, double now);
/* Moves src into dst (dst's old strings are wiped and freed). */
void dbx_token_move(dbx_token *dst, dbx_token *src);
void dbx_token_clear(dbx_token *t);

#endif
