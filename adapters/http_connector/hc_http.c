/*
 * hc_http.c -- HTTP exchanges for the connector (see hc_http.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "hc_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hc_crypto.h"
#include "hc_json.h"

uint64_t hc_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void hc_http_init(hc_http *h, const hc_profile *profile) {
    memset(h, 0, sizeof *h);
    h->profile = profile;
    pthread_mutex_init(&h->pool_lock, NULL);
    pthread_mutex_init(&h->rate_lock, NULL);
    pthread_mutex_init(&h->token_lock, NULL);
    h->tokens = profile->burst;
    h->rate_last_ns = hc_now_ns();
}

void hc_http_cleanup(hc_http *h) {
    for (size_t i = 0; i < h->pool_count; i++) curl_easy_cleanup(h->pool[i]);
    h->pool_count = 0;
    pthread_mutex_destroy(&h->pool_lock);
    pthread_mutex_destroy(&h->rate_lock);
    pthread_mutex_destroy(&h->token_lock);
}

/* A handle from the pool (its connection stays alive between requests), or a new one. */
static CURL *take_handle(hc_http *h) {
    CURL *curl = NULL;
    pthread_mutex_lock(&h->pool_lock);
    if (h->pool_count > 0) curl = h->pool[--h->pool_count];
    pthread_mutex_unlock(&h->pool_lock);
    return curl ? curl : curl_easy_init();
}

static void give_handle(hc_http *h, CURL *curl) {
    pthread_mutex_lock(&h->pool_lock);
    if (h->pool_count < HC_POOL_MAX) {
        h->pool[h->pool_count++] = curl;
        curl = NULL;
    }
    pthread_mutex_unlock(&h->pool_lock);
    if (curl) curl_easy_cleanup(curl);
}

/* Token bucket: waits for a token, at most one second; 0 when the limit is still hit. */
static int rate_wait(hc_http *h) {
    const hc_profile *p = h->profile;
    if (p->rate_per_second <= 0) return 1;
    for (int waited = 0; waited < 1000; waited += 5) {
        pthread_mutex_lock(&h->rate_lock);
        uint64_t now = hc_now_ns();
        h->tokens += (double)(now - h->rate_last_ns) / 1e9 * p->rate_per_second;
        if (h->tokens > p->burst) h->tokens = p->burst;
        h->rate_last_ns = now;
        int ok = h->tokens >= 1;
        if (ok) h->tokens -= 1;
        pthread_mutex_unlock(&h->rate_lock);
        if (ok) return 1;
        struct timespec pause = {0, 5000000};
        nanosleep(&pause, NULL);
    }
    return 0;
}

static size_t collect(char *chunk, size_t size, size_t count, void *userdata) {
    hc_buf *body = userdata;
    size_t n = size * count;
    /* Keep the first 1 MiB; read and drop the rest, so a large 2xx is still a success. */
    if (body->len < (1u << 20)) hc_buf_append(body, chunk, body->len + n > (1u << 20) ? (1u << 20) - body->len : n);
    return n;
}

/* One exchange on a pooled handle. */
static void perform(hc_http *h, const char *method, const char *url, struct curl_slist *headers, const char *body, size_t len,
                    hc_response *res) {
    const hc_profile *p = h->profile;
    CURL *curl = take_handle(h);
    res->code = 0;
    res->retry_after_ms = -1;
    res->body.len = 0;
    if (curl == NULL) {
        res->rc = CURLE_OUT_OF_MEMORY;
        snprintf(res->error, sizeof res->error, "curl_easy_init failed");
        return;
    }
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, p->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &res->body);
    res->rc = curl_easy_perform(curl);
    if (res->rc == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res->code);
        curl_off_t wait = -1;
        if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &wait) == CURLE_OK && wait > 0 && (res->code == 429 || res->code == 503))
            res->retry_after_ms = (long)wait * 1000;
    } else {
        snprintf(res->error, sizeof res->error, "%s %.400s failed: %s", method, url, curl_easy_strerror(res->rc));
    }
    give_handle(h, curl);
}

/* Fetches an OAuth2 client-credentials token into h->token (token_lock held). */
static int fetch_token(hc_http *h, hc_response *res) {
    const hc_profile *p = h->profile;
    hc_buf form = {0};
    hc_buf_puts(&form, "grant_type=client_credentials&client_id=");
    hc_url_encode(p->client_id, strlen(p->client_id), &form);
    hc_buf_puts(&form, "&client_secret=");
    hc_url_encode(p->secret, strlen(p->secret), &form);
    if (p->scope[0]) {
        hc_buf_puts(&form, "&scope=");
        hc_url_encode(p->scope, strlen(p->scope), &form);
    }
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
    headers = curl_slist_append(headers, "Accept: application/json");
    perform(h, "POST", p->token_url, headers, form.data, form.len, res);
    curl_slist_free_all(headers);
    hc_buf_free(&form);
    if (res->rc != CURLE_OK) return 0;
    char err[200];
    hc_json *reply = res->code == 200 ? hc_json_parse(res->body.data ? res->body.data : "", res->body.len, err, sizeof err) : NULL;
    size_t len = 0;
    const char *token = hc_json_string(hc_json_get(reply, "access_token"), &len);
    if (token == NULL || len == 0 || len >= sizeof h->token) {
        snprintf(res->error, sizeof res->error, "OAuth2 token request to %.400s answered HTTP %ld without a usable access_token: %.200s", p->token_url,
                 res->code, res->body.data ? res->body.data : "");
        hc_json_free(reply);
        return 0;
    }
    memcpy(h->token, token, len + 1);
    double expires = hc_json_type(hc_json_get(reply, "expires_in")) == HC_NUMBER ? hc_json_number(hc_json_get(reply, "expires_in")) : 3600;
    /* Refresh a little early so a request never leaves with a token about to lapse. */
    double margin = expires > 60 ? 30 : expires / 4;
    h->token_expires_ns = hc_now_ns() + (uint64_t)((expires - margin) * 1e9);
    hc_json_free(reply);
    return 1;
}

/* Adds the profile's authentication to the headers of one request. */
static struct curl_slist *authenticate(hc_http *h, struct curl_slist *headers, const char *body, size_t len, int refresh, hc_response *res) {
    const hc_profile *p = h->profile;
    char line[4300];
    if (p->auth == HC_AUTH_API_KEY) {
        snprintf(line, sizeof line, "%s: %s%s", p->auth_header, p->auth_prefix, p->secret);
        return curl_slist_append(headers, line);
    }
    if (p->auth == HC_AUTH_HMAC) {
        char stamp[32];
        snprintf(stamp, sizeof stamp, "%lld", (long long)time(NULL));
        hc_buf signed_text = {0};
        hc_buf_printf(&signed_text, "%s.", stamp);
        hc_buf_append(&signed_text, body ? body : "", len);
        uint8_t mac[HC_SHA256_LEN];
        hc_hmac_sha256(p->secret, strlen(p->secret), signed_text.data, signed_text.len, mac);
        hc_buf_free(&signed_text);
        char hex[2 * HC_SHA256_LEN + 1];
        hc_hex(mac, sizeof mac, hex);
        hex[2 * HC_SHA256_LEN] = '\0';
        snprintf(line, sizeof line, "%s: %s", p->timestamp_header, stamp);
        headers = curl_slist_append(headers, line);
        snprintf(line, sizeof line, "%s: %s%s", p->auth_header, p->auth_prefix, hex);
        return curl_slist_append(headers, line);
    }
    if (p->auth == HC_AUTH_OAUTH2) {
        pthread_mutex_lock(&h->token_lock);
        int ok = 1;
        if (refresh || h->token[0] == '\0' || hc_now_ns() >= h->token_expires_ns) ok = fetch_token(h, res);
        if (ok) snprintf(line, sizeof line, "Authorization: Bearer %s", h->token);
        pthread_mutex_unlock(&h->token_lock);
        return ok ? curl_slist_append(headers, line) : NULL;
    }
    return headers;
}

int hc_http_send(hc_http *h, const char *method, const char *url, struct curl_slist *headers, const char *body, size_t len,
                 hc_response *res) {
    res->error[0] = '\0';
    if (!rate_wait(h)) {
        res->rc = CURLE_OK;
        res->code = 429;
        res->limited = 1;
        res->retry_after_ms = 1000;
        snprintf(res->error, sizeof res->error, "the profile's rate limit (%.0f/s) is exhausted", h->profile->rate_per_second);
        return 1;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        /* Copy the caller's headers: auth headers differ per attempt. */
        struct curl_slist *all = NULL;
        for (struct curl_slist *s = headers; s; s = s->next) all = curl_slist_append(all, s->data);
        struct curl_slist *signed_headers = authenticate(h, all, body, len, attempt > 0, res);
        if (signed_headers == NULL) {
            curl_slist_free_all(all);
            return 0;
        }
        res->body.len = 0;
        perform(h, method, url, signed_headers, body, len, res);
        curl_slist_free_all(signed_headers);
        /* An OAuth2 token the server no longer takes: fetch a new one and try once more. */
        if (!(res->rc == CURLE_OK && res->code == 401 && h->profile->auth == HC_AUTH_OAUTH2)) break;
    }
    return 1;
}
