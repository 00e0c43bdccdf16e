/*
 * hc_http.h -- one HTTP exchange over libcurl, with keep-alive handles pooled per instance
 * (deliveries run on several host threads at once), a token-bucket rate limit, and the
 * OAuth2 client-credentials token cache.
 */
#ifndef HC_HTTP_H
#define HC_HTTP_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>

#include "hc_buf.h"
#include "hc_profile.h"

#define HC_POOL_MAX 32

typedef struct hc_http {
    const hc_profile *profile;
    pthread_mutex_t pool_lock;
    CURL *pool[HC_POOL_MAX];
    size_t pool_count;
    pthread_mutex_t rate_lock;
    double tokens;
    uint64_t rate_last_ns;
    pthread_mutex_t token_lock;
    char token[4096];
    uint64_t token_expires_ns;
} hc_http;

typedef struct hc_response {
    long code;              /* HTTP status; 0 when no answer came */
    CURLcode rc;
    long retry_after_ms;    /* from Retry-After; -1 when absent */
    int limited;            /* 1 when our own rate limit stopped the request (no HTTP exchange) */
    hc_buf body;            /* the first 1 MiB of the reply (the rest is read and dropped) */
    char error[1200];       /* why, when rc != CURLE_OK or auth failed */
} hc_response;

void hc_http_init(hc_http *h, const hc_profile *profile);
void hc_http_cleanup(hc_http *h);

/* Sends one request (auth headers added per the profile) and fills *res (free res->body).
 * Returns 0 when the request could not be made at all (res->error says why). */
int hc_http_send(hc_http *h, const char *method, const char *url, struct curl_slist *headers,
                 const char *body, size_t body_len, hc_response *res);

uint64_t hc_now_ns(void);

#endif
