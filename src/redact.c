/* redact.c — in-place scrubbing and the secret registry (see redact.h). It
 * must never make a string longer: callers redact fixed-size buffers. Every
 * replacement is therefore min(len(secret), marker): a secret shorter than
 * the marker becomes "***". */
#include "redact.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

static int is_b64url(int c)
{
    return isalnum(c) || c == '-' || c == '_';
}

static int is_token_char(int c)
{
    return is_b64url(c) || c == '.' || c == '~' || c == '+' || c == '/' || c == '=' || c == '%';
}

/* Replace s[start, end) by the marker (or "***" when shorter). */
static size_t replace(char *s, size_t start, size_t end)
{
    size_t len = end - start, mlen = strlen(DBX_REDACTED);
    const char *m = DBX_REDACTED;
    if (len < mlen) {
        m = "***";
        mlen = len < 3 ? len : 3;
    }
    memcpy(s + start, m, mlen);
    memmove(s + start + mlen, s + end, strlen(s + end) + 1);
    return start + mlen;
}

/* JWT: eyJ<b64url>(.<b64url>(.<b64url>)?)? — at least 16 chars in all. */
static size_t match_jwt(const char *s, size_t i)
{
    size_t j = i;
    if (strncmp(s + i, "eyJ", 3) != 0 || (i > 0 && is_b64url((unsigned char)s[i - 1])))
        return 0;
    while (is_b64url((unsigned char)s[j]) || (s[j] == '.' && is_b64url((unsigned char)s[j + 1])))
        j++;
    return j - i >= 16 ? j : 0;
}

/* Databricks PATs and OAuth secrets: dapi/dose/dkea/doau + 16 or more chars. */
static size_t match_prefixed(const char *s, size_t i)
{
    static const char *const prefixes[] = {"dapi", "dose", "dkea", "doau", "dorf", NULL};
    size_t j;
    if (i > 0 && isalnum((unsigned char)s[i - 1]))
        return 0;
    for (int p = 0; prefixes[p]; p++) {
        if (strncmp(s + i, prefixes[p], 4) != 0)
            continue;
        j = i + 4;
        while (is_b64url((unsigned char)s[j]))
            j++;
        if (j - i >= 20)
            return j;
    }
    return 0;
}

static size_t token_end(const char *s, size_t i);

/* A credential after "Bearer "/"Basic " is at least 8 token characters,
 * or has something a word has not (a digit, an upper-case letter, a
 * symbol): "only Bearer is supported" or "Bearer tokens" are prose. */
static int credential_like(const char *s, size_t n)
{
    if (n >= 8)
        return 1;
    for (size_t k = 0; k < n; k++)
        if (!islower((unsigned char)s[k]))
            return 1;
    return 0;
}

/* After "Bearer " / "Basic ": the credential. Returns start of the value. */
static size_t match_scheme(const char *s, size_t i)
{
    static const char *const schemes[] = {"Bearer ", "Basic ", NULL};
    if (i > 0 && isalnum((unsigned char)s[i - 1]))
        return 0;
    for (int p = 0; schemes[p]; p++) {
        size_t n = strlen(schemes[p]), len;
        if (strncasecmp(s + i, schemes[p], n) != 0)
            continue;
        len = token_end(s, i + n) - (i + n);
        if (len > 0 && credential_like(s + i + n, len))
            return i + n;
    }
    return 0;
}

/* key=value (forms, URLs), "key": "value" (JSON) for secret-bearing keys,
 * and key: value for the unambiguous long names. Short words such as "token"
 * or "code" are matched only in the first two forms so that prose like
 * "invalid token: expired" or "status code: 500" survives. Returns the start
 * of the value, or 0. */
static size_t match_key(const char *s, size_t i)
{
    static const struct { const char *name; int prose; } keys[] = {
        {"access_token", 1}, {"refresh_token", 1}, {"id_token", 1}, {"client_secret", 1},
        {"code_verifier", 1}, {"password", 0}, {"secret", 0}, {"token", 0}, {"code", 0},
        /* pre-signed URLs (S3 X-Amz-*, GCS X-Goog-*, Azure SAS sig=, CloudFront
         * Signature=): a result link echoed after its chunk was released,
         * when it is no longer in the registry */
        {"signature", 0}, {"credential", 0}, {"security-token", 0}, {"sig", 0},
        {NULL, 0},
    };
    int quoted = i > 0 && s[i - 1] == '"';
    if (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_'))
        return 0;
    for (int k = 0; keys[k].name; k++) {
        size_t n = strlen(keys[k].name), j;
        if (strncasecmp(s + i, keys[k].name, n) != 0)
            continue;
        j = i + n;
        if (quoted && s[j] == '"')
            j++;
        else if (s[j] == '=')
            return is_token_char((unsigned char)s[j + 1]) ? j + 1 : 0;
        else if (!keys[k].prose)
            continue;
        while (s[j] == ' ')
            j++;
        if (s[j] != ':' && s[j] != '=')
            continue;
        j++;
        while (s[j] == ' ')
            j++;
        if (s[j] == '"')
            j++;
        if (is_token_char((unsigned char)s[j]))
            return j;
    }
    return 0;
}

static size_t token_end(const char *s, size_t i)
{
    while (is_token_char((unsigned char)s[i]))
        i++;
    return i;
}

/* Control characters: whitespace ones become a space, the others '?'. */
static void scrub_controls(char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f')
            *s = ' ';
        else if (c < 0x20 || c == 0x7f)
            *s = '?';
    }
}

static void patterns(char *s)
{
    size_t i = 0, end, v;
    while (s[i]) {
        if ((end = match_jwt(s, i)) || (end = match_prefixed(s, i))) {
            i = replace(s, i, end);
        } else if ((v = match_scheme(s, i)) || (v = match_key(s, i))) {
            end = token_end(s, v);
            /* "[REDACTED]" itself is not a secret: leave it alone. */
            if (strncmp(s + v, "[REDACTED]", 10) == 0 || strncmp(s + v, "***", 3) == 0)
                i = v + 1;
            else
                i = replace(s, v, end);
        } else {
            i++;
        }
    }
}

static void replace_all(char *s, const char *secret, size_t n)
{
    size_t at = 0;
    char *p;
    if (n < 6)
        return;
    /* Search on from the end of each replacement, never from the start: a
     * secret that the marker contains or rebuilds ("[REDACTED]", "******")
     * would otherwise be found again forever (found by fuzz/fuzz_redact.c). */
    while ((p = strstr(s + at, secret)) != NULL)
        at = replace(s, (size_t)(p - s), (size_t)(p - s) + n);
}

/* ---- the registry ------------------------------------------------------- */

typedef struct entry {
    char *value;
    size_t len;
    unsigned refs;
} entry;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static entry *registry;
static size_t registry_n, registry_cap;

static entry *find(const char *s, size_t n)
{
    for (size_t i = 0; i < registry_n; i++)
        if (registry[i].len == n && memcmp(registry[i].value, s, n) == 0)
            return &registry[i];
    return NULL;
}

static void add_one(const char *s, size_t n)
{
    entry *e;
    if (n < 6)
        return;
    if ((e = find(s, n)) != NULL) {
        e->refs++;
        return;
    }
    if (registry_n == registry_cap) {
        size_t cap = registry_cap ? registry_cap * 2 : 16;
        entry *grown = realloc(registry, cap * sizeof *grown);
        if (!grown)
            return;
        registry = grown;
        registry_cap = cap;
    }
    e = &registry[registry_n];
    if (!(e->value = malloc(n + 1)))
        return;
    memcpy(e->value, s, n);
    e->value[n] = '\0';
    e->len = n;
    e->refs = 1;
    registry_n++;
}

static void remove_one(const char *s, size_t n)
{
    entry *e = find(s, n);
    if (!e || --e->refs > 0)
        return;
    dbx_wipe(e->value, e->len);
    free(e->value);
    *e = registry[--registry_n];
}

/* Calls fn for the value and, when different, its URL-encoded form. */
static void each_form(const char *s, void (*fn)(const char *, size_t))
{
    dbx_buf enc = {0};
    size_t n = strlen(s);
    fn(s, n);
    if (dbx_buf_urlencode(&enc, s) == 0 && (enc.len != n || memcmp(enc.data, s, n) != 0))
        fn(enc.data, enc.len);
    dbx_buf_free(&enc);
}

void dbx_secret_add(const char *s)
{
    if (!s || strlen(s) < 6)
        return;
    pthread_mutex_lock(&registry_lock);
    each_form(s, add_one);
    pthread_mutex_unlock(&registry_lock);
}

void dbx_secret_remove(const char *s)
{
    if (!s || strlen(s) < 6)
        return;
    pthread_mutex_lock(&registry_lock);
    each_form(s, remove_one);
    pthread_mutex_unlock(&registry_lock);
}

size_t dbx_secret_count(void)
{
    size_t n;
    pthread_mutex_lock(&registry_lock);
    n = registry_n;
    pthread_mutex_unlock(&registry_lock);
    return n;
}

int dbx_secret_contained(const char *s)
{
    int found = 0;
    if (!s)
        return 0;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < registry_n && !found; i++)
        found = strstr(s, registry[i].value) != NULL;
    pthread_mutex_unlock(&registry_lock);
    return found;
}

/* ---- scrubbing ---------------------------------------------------------- */

static void scrub(char *s, const char *const *extra)
{
    if (!s)
        return;
    scrub_controls(s);
    for (; extra && *extra; extra++)
        replace_all(s, *extra, strlen(*extra));
    pthread_mutex_lock(&registry_lock);
    /* Longest first would be ideal; registration order is fine in
     * practice, and replace() never lets one secret's marker create
     * another's text. */
    for (size_t i = 0; i < registry_n; i++)
        replace_all(s, registry[i].value, registry[i].len);
    pthread_mutex_unlock(&registry_lock);
    patterns(s);
}

void dbx_redact(char *s)
{
    scrub(s, NULL);
}

void dbx_redact_known(char *s, const char *const *secrets)
{
    scrub(s, secrets);
}
