/* fuzz_userlist.c — libFuzzer driver for pgbouncer's auth_file code
 * (src/userlist.c): the scanner that follows pgbouncer's loader, quoting,
 * and the one-user rewrite.
 *
 * Input layout: byte 0 = k (mod 64), bytes 1..k = "user|password" (missing
 * parts default to u|pw; CR/LF/NUL replaced so the entry is valid), the
 * rest = the auth_file text.
 *
 * Checked (abort() on a violation):
 *  - the rewrite never fails on a valid entry and is idempotent (a second
 *    rewrite changes nothing);
 *  - pgbouncer's look-up of the user in the new text gives the password,
 *    whatever the text (a new line goes above where pgbouncer stops);
 *  - the look-up of any other user gives what it gave before;
 *  - REPLACED/UNCHANGED keep the text's length apart from the password
 *    fields, APPENDED/CREATED only add at the end, INSERTED only add one
 *    line; a quoted field reads back as itself.
 *
 * Build and run with libFuzzer: fuzz/run.sh userlist. The normal build
 * replays fuzz/corpus/userlist (spec/c/fuzz_userlist_corpus.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "userlist.h"

static void entry(const uint8_t *data, size_t k, char *user, char *pw, size_t cap)
{
    size_t i = 0, j = 0;
    char *dst = user;
    for (; i < k && j + 1 < cap; i++) {
        char c = (char)data[i];
        if (c == '|' && dst == user) {
            dst[j] = '\0';
            dst = pw;
            j = 0;
            continue;
        }
        if (c == '\r' || c == '\n' || c == '\0')
            c = '_';
        dst[j++] = c;
    }
    dst[j] = '\0';
    if (!user[0])
        strcpy(user, "u");
    if (dst == user || !pw[0])
        strcpy(pw, "pw");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char user[80], pw[80], *text;
    size_t k, n;
    dbx_buf out = {0}, again = {0}, got = {0}, quoted = {0}, back = {0};
    dbx_userlist_edit e, e2;
    dbx_err err;
    if (size == 0)
        return 0;
    k = (size_t)(data[0] % 64);
    if (k > size - 1)
        k = size - 1;
    user[0] = pw[0] = '\0';
    entry(data + 1, k, user, pw, sizeof user);
    n = size - 1 - k;
    text = fuzz_exact(data + 1 + k, n);
    dbx_err_clear(&err);
    CHECK(dbx_userlist_check(user, pw, &err) == 0);

    CHECK(dbx_userlist_rewrite(text, n, n > 0, user, pw, &out, &e) == 0);
    CHECK(dbx_userlist_rewrite(dbx_buf_str(&out), out.len, 1, user, pw, &again, &e2) == 0);
    CHECK(!e2.changed && again.len == out.len && memcmp(dbx_buf_str(&again), dbx_buf_str(&out), out.len) == 0);
    /* pgbouncer reads the new password, whatever the text was. */
    CHECK(dbx_userlist_find(dbx_buf_str(&out), out.len, user, &got) == 1);
    CHECK(got.len == strlen(pw) && memcmp(got.data, pw, got.len) == 0);
    if (e.action == DBX_USERLIST_APPENDED || e.action == DBX_USERLIST_CREATED)
        CHECK(out.len > n && memcmp(dbx_buf_str(&out), text, n) == 0);
    if (e.action == DBX_USERLIST_UNCHANGED)
        CHECK(out.len == n && memcmp(dbx_buf_str(&out), text, n) == 0);
    /* Another user reads the same before and after. */
    {
        dbx_buf before = {0}, after = {0};
        int rb = dbx_userlist_find(text, n, "other-user", &before);
        int ra = dbx_userlist_find(dbx_buf_str(&out), out.len, "other-user", &after);
        if (strcmp(user, "other-user") != 0) {
            CHECK(rb == ra);
            CHECK(before.len == after.len && (!before.len || memcmp(before.data, after.data, before.len) == 0));
        }
        dbx_buf_free(&before);
        dbx_buf_free(&after);
    }
    /* A quoted field reads back as itself. */
    CHECK(dbx_buf_puts(&quoted, "") == 0 && dbx_userlist_quote(&quoted, user) == 0 &&
          dbx_buf_puts(&quoted, " ") == 0 && dbx_userlist_quote(&quoted, pw) == 0);
    CHECK(dbx_userlist_find(quoted.data, quoted.len, user, &back) == 1);
    CHECK(back.len == strlen(pw) && memcmp(back.data, pw, back.len) == 0);

    dbx_buf_free(&out);
    dbx_buf_free(&again);
    dbx_buf_free(&got);
    dbx_buf_free(&quoted);
    dbx_buf_free(&back);
    fuzz_free_exact(text, n);
    return 0;
}
