/* curl_loop.c — the baseline for sequential client:request() calls: a plain
 * C loop over ONE libcurl easy handle, options set once, the connection kept
 * alive, the body collected into a growing buffer (as the connector does)
 * and thrown away. No retries, no JSON, no Lua. The request is the
 * connector's: GET with Accept, Authorization (Bearer), User-Agent and
 * Accept-Encoding (every encoding libcurl supports).
 *
 *   curl_loop URL CA_FILE TOKEN USER_AGENT N
 *
 * One warm-up request (TLS handshake, connection) is made before the clock
 * starts. Prints "requests=N seconds=S rps=R cpu_us=C" (C: this process's
 * CPU time per request, microseconds). Exit 1 when any request fails
 * or answers anything but 200 with a body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

typedef struct body {
    char *data;
    size_t len, cap;
} body;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    body *b = ud;
    size_t len = size * n;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *d;
        while (cap < b->len + len + 1)
            cap *= 2;
        if (!(d = realloc(b->data, cap)))
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one(CURL *c, body *b)
{
    long status = 0;
    CURLcode rc;
    b->len = 0;
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "curl_loop: %s\n", curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200 || b->len == 0) {
        fprintf(stderr, "curl_loop: HTTP %ld with %zu body bytes\n", status, b->len);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct curl_slist *headers = NULL;
    char auth[4096];
    body b = {0};
    CURL *c;
    long n;
    double t0, c0, dt, cpu;
    if (argc != 6 || (n = atol(argv[5])) <= 0) {
        fprintf(stderr, "usage: curl_loop URL CA_FILE TOKEN USER_AGENT N\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c = curl_easy_init();
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[3]);
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, auth);
    if (!c || !headers)
        return 1;
    curl_easy_setopt(c, CURLOPT_URL, argv[1]);
    curl_easy_setopt(c, CURLOPT_CAINFO, argv[2]);
    curl_easy_setopt(c, CURLOPT_USERAGENT, argv[4]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (one(c, &b) != 0)
        return 1;
    t0 = clock_s(CLOCK_MONOTONIC);
    c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (long i = 0; i < n; i++)
        if (one(c, &b) != 0)
            return 1;
    cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    dt = clock_s(CLOCK_MONOTONIC) - t0;
    printf("requests=%ld seconds=%.6f rps=%.1f cpu_us=%.2f\n", n, dt, (double)n / dt, cpu / (double)n * 1e6);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    free(b.data);
    return 0;
}
