/* fuzz_redact.c — libFuzzer driver for the redactor (src/redact.c), which
 * every error message, log line and CLI output passes through, and which
 * rewrites fixed-size buffers in place.
 *
 * Input: up to the first two '\n' bytes are two "known secrets" (used when
 * they are 6 bytes or longer, as dbx_redact_known does), the rest is the
 * text; the whole input (to its first NUL) is also redacted as is.
 *
 * Checked:
 *  - dbx_redact and dbx_redact_known terminate, never lengthen the string
 *    (the buffer is a heap block of exactly strlen + 1 bytes, so a write
 *    past the end is caught), and leave a string that redacting again does
 *    not change (idempotent: what was redacted stays redacted, and a marker
 *    is never mistaken for a secret);
 *  - no known secret made of base64url characters ([A-Za-z0-9_-], the shape
 *    of every token and client secret) survives dbx_redact_known, unless it
 *    is a piece of the marker "[REDACTED]" itself;
 *  - the marker itself and text without secrets are left alone.
 *
 * Run: fuzz/run.sh redact. Replayed by spec/c/fuzz_redact_corpus.c. */
#include "fuzz_common.h"

#include <ctype.h>

#include "redact.h"

static int b64url_only(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return 0;
    return 1;
}

static void check_idempotent(const char *s)
{
    size_t n = strlen(s);
    char *again = malloc(n + 1);
    CHECK(again != NULL);
    memcpy(again, s, n + 1);
    dbx_redact(again);
    CHECK(strcmp(again, s) == 0);
    free(again);
}

static void check_plain(const char *in)
{
    size_t n = strlen(in);
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    memcpy(s, in, n + 1);
    dbx_redact(s);
    CHECK(strlen(s) <= n);
    check_idempotent(s);
    free(s);
}

static void check_known(const char *text, const char *const *secrets)
{
    size_t n = strlen(text);
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    memcpy(s, text, n + 1);
    dbx_redact_known(s, secrets);
    CHECK(strlen(s) <= n);
    /* A secret that is part of the marker ("REDACTED") is found again in
     * every marker; any other base64url secret cannot overlap one. */
    for (int i = 0; secrets[i]; i++)
        if (strlen(secrets[i]) >= 6 && b64url_only(secrets[i]) && !strstr(DBX_REDACTED, secrets[i]))
            CHECK(strstr(s, secrets[i]) == NULL);
    check_idempotent(s);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *all = fuzz_cstr(data, size), *nl1, *nl2;
    const char *secrets[3] = {NULL, NULL, NULL};
    char marker[] = DBX_REDACTED;
    check_plain(all);
    dbx_redact(marker);
    CHECK(strcmp(marker, DBX_REDACTED) == 0);
    nl1 = strchr(all, '\n');
    nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
    if (nl1 && nl2) {
        *nl1 = *nl2 = '\0';
        secrets[0] = all;
        secrets[1] = nl1 + 1;
        check_known(nl2 + 1, secrets);
    } else if (nl1) {
        *nl1 = '\0';
        secrets[0] = all;
        check_known(nl1 + 1, secrets);
    }
    free(all);
    return 0;
}
