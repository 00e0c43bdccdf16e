/*
 * wms_http.c -- a WMS connector in plain C: for each dispatch request the hub delivers, POST
 * the instruction as JSON to the configured WMS URL and report the warehouse's answer.
 *
 * Needs only hub_abi.h and libcurl, to show that an integrator needs nothing else.
 *
 * Config (manifest `config:`):
 *   url             required, http(s) URL the dispatch instruction is POSTed to
 *   timeout_ms      whole-request timeout, default 5000
 *   connect_timeout_ms                     default 2000
 *   api_key         optional, sent in the header named by api_key_header
 *   api_key_header  default "X-Api-Key"
 *
 * Each request carries "Idempotency-Key: <event id>" (the hub keeps that id stable across
 * retries and restarts, so the WMS can drop duplicates) and "X-OrderHub-Order: <order id>".
 * Outcome: 2xx -> HUB_OK; 408, 425, 429, 5xx, connection errors -> HUB_AGAIN (retried by
 * the hub); timeouts -> HUB_TIMEOUT; other 4xx -> HUB_INVALID (refused for good).
 */
#include "include/wms_http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wms_instance {
    const hub_host_api *host;
    void *hctx;
    CURL *curl;
    char url[1024];
    char api_key_header[512]; /* "Name: value", empty when no key */
    long timeout_ms;
    long connect_timeout_ms;
    char last_error[512];
    uint32_t metric_requests;
    uint32_t metric_seconds;
    uint32_t metric_failures;
} wms_instance;

typedef struct response_body {
    char *data;
    size_t len;
} response_body;

static void wms_buf_release(hub_buf *buf) {
    free(buf->ptr);
    buf->ptr = NULL;
    buf->len = 0;
}

static void wms_fill_buf(hub_buf *out, const char *text, size_t len) {
    if (out == NULL) return;
    out->ptr = malloc(len > 0 ? len : 1);
    if (out->ptr == NULL) return;
    memcpy(out->ptr, text, len);
    out->len = len;
    out->release = wms_buf_release;
    out->owner = NULL;
}

static hub_bytes wms_bytes(const char *text) {
    hub_bytes b = {(const uint8_t *)text, strlen(text)};
    return b;
}

/* Reads one config value into dst (NUL-terminated). Returns 1 if present. */
static int wms_config(wms_instance *w, const char *key, char *dst, size_t cap) {
    hub_buf value = {0};
    if (w->host->config_get(w->hctx, wms_bytes(key), &value) != HUB_OK) return 0;
    size_t n = value.len < cap - 1 ? value.len : cap - 1;
    memcpy(dst, value.ptr, n);
    dst[n] = '\0';
    if (value.release) value.release(&value);
    return 1;
}

static long wms_config_long(wms_instance *w, const char *key, long fallback, int *bad) {
    char text[64];
    if (!wms_config(w, key, text, sizeof text)) return fallback;
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v <= 0) *bad = 1;
    return v;
}

static hub_status wms_fail(hub_buf *out_err, const char *message) {
    wms_fill_buf(out_err, message, strlen(message));
    return HUB_INVALID;
}

static hub_status wms_create(const hub_host_api *host, void *hctx, hub_bytes config, void **out_inst,
                             hub_buf *out_err) {
    (void)config;
    if (host == NULL || out_inst == NULL) return HUB_INVALID;
    /* Refuse a host whose table is too small to hold the services we call. */
    if (host->struct_size < offsetof(hub_host_api, metric_record) + sizeof(host->metric_record))
        return wms_fail(out_err, "host services table too small for wms_http (needs ABI 1.0)");
    wms_instance *w = calloc(1, sizeof *w);
    if (w == NULL) return HUB_NOMEM;
    w->host = host;
    w->hctx = hctx;
    char message[600];
    if (!wms_config(w, "url", w->url, sizeof w->url) ||
        (strncmp(w->url, "http://", 7) != 0 && strncmp(w->url, "https://", 8) != 0)) {
        free(w);
        return wms_fail(out_err, "config.url: required, an http:// or https:// URL of the WMS order endpoint");
    }
    int bad = 0;
    w->timeout_ms = wms_config_long(w, "timeout_ms", 5000, &bad);
    w->connect_timeout_ms = wms_config_long(w, "connect_timeout_ms", 2000, &bad);
    if (bad) {
        free(w);
        return wms_fail(out_err, "config.timeout_ms / connect_timeout_ms: must be positive integers (milliseconds)");
    }
    char key[256], header[200] = "X-Api-Key";
    if (wms_config(w, "api_key", key, sizeof key)) {
        wms_config(w, "api_key_header", header, sizeof header);
        snprintf(w->api_key_header, sizeof w->api_key_header, "%s: %s", header, key);
    }
    w->curl = curl_easy_init();
    if (w->curl == NULL) {
        free(w);
        return wms_fail(out_err, "curl_easy_init failed");
    }
    host->metric_define(hctx, wms_bytes("wms_requests_total"), HUB_METRIC_COUNTER,
                        wms_bytes("HTTP requests sent to the WMS"), &w->metric_requests);
    host->metric_define(hctx, wms_bytes("wms_request_seconds"), HUB_METRIC_HISTOGRAM,
                        wms_bytes("WMS request latency"), &w->metric_seconds);
    host->metric_define(hctx, wms_bytes("wms_failures_total"), HUB_METRIC_COUNTER,
                        wms_bytes("WMS requests that failed"), &w->metric_failures);
    snprintf(message, sizeof message, "dispatching to %s (timeout %ld ms)", w->url, w->timeout_ms);
    host->log(hctx, HUB_LOG_INFO, wms_bytes(message));
    *out_inst = w;
    return HUB_OK;
}

static void wms_destroy(void *inst) {
    wms_instance *w = inst;
    if (w == NULL) return;
    curl_easy_cleanup(w->curl);
    free(w);
}

static size_t wms_collect(char *chunk, size_t size, size_t count, void *userdata) {
    response_body *body = userdata;
    size_t n = size * count;
    if (body->len + n > 65536) return 0; /* a WMS reply larger than 64 KiB is an error */
    char *grown = realloc(body->data, body->len + n + 1);
    if (grown == NULL) return 0;
    memcpy(grown + body->len, chunk, n);
    body->data = grown;
    body->len += n;
    body->data[body->len] = '\0';
    return n;
}

static hub_status wms_deliver(void *inst, const hub_event *event, hub_buf *out_ack) {
    wms_instance *w = inst;
    if (w == NULL || event == NULL) return HUB_INVALID;
    char idem[300], order[300];
    snprintf(idem, sizeof idem, "Idempotency-Key: %.*s", (int)event->id.len, (const char *)event->id.ptr);
    snprintf(order, sizeof order, "X-OrderHub-Order: %.*s", (int)event->subject.len, (const char *)event->subject.ptr);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, idem);
    headers = curl_slist_append(headers, order);
    if (w->api_key_header[0] != '\0') headers = curl_slist_append(headers, w->api_key_header);

    response_body body = {NULL, 0};
    curl_easy_reset(w->curl);
    curl_easy_setopt(w->curl, CURLOPT_URL, w->url);
    curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, (const char *)event->data.ptr);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)event->data.len);
    curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, w->connect_timeout_ms);
    curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, wms_collect);
    curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, &body);

    uint64_t started = w->host->clock_mono_ns(w->hctx);
    CURLcode rc = curl_easy_perform(w->curl);
    double seconds = (double)(w->host->clock_mono_ns(w->hctx) - started) / 1e9;
    curl_slist_free_all(headers);
    w->host->metric_record(w->hctx, w->metric_requests, 1);
    w->host->metric_record(w->hctx, w->metric_seconds, seconds);

    hub_status status = HUB_OK;
    long code = 0;
    if (rc != CURLE_OK) {
        snprintf(w->last_error, sizeof w->last_error, "POST %s failed: %s", w->url, curl_easy_strerror(rc));
        status = rc == CURLE_OPERATION_TIMEDOUT ? HUB_TIMEOUT : HUB_AGAIN;
    } else {
        curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code > 299) {
            snprintf(w->last_error, sizeof w->last_error, "WMS at %s answered HTTP %ld: %.200s", w->url, code,
                     body.data ? body.data : "");
            int temporary = code == 408 || code == 425 || code == 429 || code >= 500;
            status = temporary ? HUB_AGAIN : HUB_INVALID;
        }
    }
    if (status == HUB_OK) {
        char ack[66000];
        int looks_json = body.len > 0 && body.data[0] == '{';
        int n = snprintf(ack, sizeof ack, "{\"http_status\":%ld,\"reply\":%s}", code,
                         looks_json ? body.data : "null");
        wms_fill_buf(out_ack, ack, (size_t)(n < (int)sizeof ack ? n : (int)sizeof ack - 1));
    } else {
        w->host->metric_record(w->hctx, w->metric_failures, 1);
    }
    free(body.data);
    return status;
}

static const void *wms_kind_api(void *inst, uint32_t kind, uint32_t version);

static const char *wms_last_error(void *inst) {
    wms_instance *w = inst;
    return w ? w->last_error : "";
}

static hub_status wms_health(void *inst, hub_buf *out_json) {
    wms_instance *w = inst;
    char text[2200] = "{\"status\":\"ok\",\"url\":\"";
    size_t n = strlen(text);
    /* The URL comes from the manifest: escape it so the report stays valid JSON. */
    for (const char *c = w->url; *c != '\0' && n < sizeof text - 8; c++) {
        if (*c == '"' || *c == '\\') text[n++] = '\\';
        if ((unsigned char)*c >= 0x20) text[n++] = *c;
    }
    memcpy(text + n, "\"}", 3);
    wms_fill_buf(out_json, text, n + 2);
    return HUB_OK;
}

static const hub_connector_api_v1 wms_connector_api = {
    .struct_size = sizeof(hub_connector_api_v1),
    .deliver = wms_deliver,
};

static const void *wms_kind_api(void *inst, uint32_t kind, uint32_t version) {
    (void)inst;
    if (kind == HUB_KIND_CONNECTOR && version == 1) return &wms_connector_api;
    return NULL;
}

static const hub_plugin_desc wms_descriptor = {
    .struct_size = sizeof(hub_plugin_desc),
    .abi_major = HUB_ABI_MAJOR,
    .abi_minor = HUB_ABI_MINOR,
    .id = "orderhub.connector.wms-http",
    .version = "1.0.0",
    .kind = HUB_KIND_CONNECTOR,
    .kind_api_version = HUB_CONNECTOR_API_VERSION,
    .threading = HUB_THREADING_SERIAL_PER_INSTANCE,
    .caps = HUB_CAP_HEALTH,
    .create = wms_create,
    .destroy = wms_destroy,
    .kind_api = wms_kind_api,
    .last_error = wms_last_error,
    .health = wms_health,
};

HUB_EXPORT hub_status hub_plugin_entry_v1(uint16_t host_abi_major, uint16_t host_abi_minor,
                                          const hub_plugin_desc **out_desc) {
    if (out_desc == NULL) return HUB_INVALID;
    if (host_abi_major != HUB_ABI_MAJOR) return HUB_UNSUPPORTED;
#if HUB_ABI_MINOR > 0
    if (host_abi_minor < HUB_ABI_MINOR) return HUB_UNSUPPORTED;
#else
    (void)host_abi_minor;
#endif
    static int curl_ready = 0; /* entry runs once per dlopen, before any create */
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return HUB_INTERNAL;
        curl_ready = 1;
    }
    *out_desc = &wms_descriptor;
    return HUB_OK;
}
