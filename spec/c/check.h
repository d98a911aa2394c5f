/* check.h — the C test binaries' one assertion: CHECK(cond, fmt, ...)
 * counts a check, and on failure prints "FAIL file:line: message" and
 * counts it failed; CHECK_EXIT() prints "N checks, N failed" and gives the
 * exit status (1 when any failed). Include it once per test binary. */
#ifndef DBX_TEST_CHECK_H
#define DBX_TEST_CHECK_H

#include <stdio.h>

static int checks, failed;

#define CHECK(cond, ...)                                   \
    do {                                                   \
        checks++;                                          \
        if (!(cond)) {                                     \
            failed++;                                      \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);   \
            printf(__VA_ARGS__);                           \
            printf("\n");                                  \
        }                                                  \
    } while (0)

#define CHECK_EXIT() (printf("%d checks, %d failed\n", checks, failed), failed ? 1 : 0)

#endif
