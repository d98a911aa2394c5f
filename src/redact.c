/* redact.c — in-place secret scrubbing (see redact.h). It must never make a
 * string longer: callers redact fixed-size buffers. Every replacement is
 * therefore min(len(secret), marker): a secret shorter than the marker becomes
 * "***". */
#include "redact.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

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

/* After "Bearer " / "Basic ": the credential. Returns start of the value. */
static size_t match_scheme(const char *s, size_t i)
{
    static const char *const schemes[] = {"Bearer ", "Basic ", NULL};
    for (int p = 0; schemes[p]; p++) {
        size_t n = strlen(schemes[p]);
        if (strncasecmp(s + i, schemes[p], n) == 0 && is_token_char((unsigned char)s[i + n]))
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

void dbx_redact(char *s)
{
    size_t i = 0, end, v;
    if (!s)
        return;
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

void dbx_redact_known(char *s, const char *const *secrets)
{
    if (!s || !secrets)
        return;
    for (; *secrets; secrets++) {
        size_t n = strlen(*secrets), at = 0;
        char *p;
        if (n < 6)
            continue;
        /* Search on from the end of each replacement, never from the start:
         * a secret that the marker contains or rebuilds ("[REDACTED]",
         * "******") would otherwise be found again forever (found by
         * fuzz/fuzz_redact.c). */
        while ((p = strstr(s + at, *secrets)) != NULL)
            at = replace(s, (size_t)(p - s), (size_t)(p - s) + n);
    }
    dbx_redact(s);
}
