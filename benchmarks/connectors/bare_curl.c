/*
 * bare_curl.c -- the ceiling for connector dispatch: N POSTs of one body to one URL over
 * libcurl with keep-alive, on T threads (one easy handle each), nothing else. The hub's
 * figure in benchmarks/connectors/run.sh is divided by this one, measured in the same run.
 *
 *   cc -O2 -o bare_curl bare_curl.c -lcurl -lpthread
 *   ./bare_curl URL BODY_FILE REQUESTS THREADS
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
    const char *url;
    const char *body;
    long len;
    long count;
    long failures;
} job;

static size_t discard(char *p, size_t s, size_t n, void *u) {
    (void)p;
    (void)u;
    return s * n;
}

static void *run(void *arg) {
    job *j = arg;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Idempotency-Key: bench");
    for (long i = 0; i < j->count; i++) {
        curl_easy_setopt(curl, CURLOPT_URL, j->url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, j->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, j->len);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        long code = 0;
        if (curl_easy_perform(curl) != CURLE_OK || (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code), code / 100 != 2)) j->failures++;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s URL BODY_FILE REQUESTS THREADS\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    if (f == NULL) {
        perror(argv[2]);
        return 2;
    }
    static char body[1 << 20];
    long len = (long)fread(body, 1, sizeof body - 1, f);
    fclose(f);
    long requests = atol(argv[3]);
    int threads = atoi(argv[4]);
    if (requests <= 0 || threads <= 0 || threads > 64) return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_t tid[64];
    job jobs[64];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int t = 0; t < threads; t++) {
        jobs[t] = (job){argv[1], body, len, requests / threads + (t < requests % threads), 0};
        pthread_create(&tid[t], NULL, run, &jobs[t]);
    }
    long failures = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        failures += jobs[t].failures;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("bare libcurl: %ld POSTs (%ld bytes) on %d threads in %.2f s = %.0f/s, %ld failed\n", requests, len, threads, seconds,
           (double)requests / seconds, failures);
    curl_global_cleanup();
    return failures ? 1 : 0;
}
