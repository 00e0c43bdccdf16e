/*
 * services_probe.c -- a rules-kind C plugin that exercises the host services a real plugin
 * relies on: config_get, kv_get/kv_put with compare-and-set, subscribe + on_event,
 * schedule + on_timer, publish, metric_define/metric_record, log and both clocks.
 * Tests/IntegrationTests/HostServicesTests loads it into a running hub.
 */
#include "hub_abi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct probe {
    const hub_host_api *host;
    void *hctx;
    uint32_t metric;
    char subject[128];
    char last_error[256];
} probe;

static hub_bytes probe_bytes(const char *text) {
    hub_bytes b = {(const uint8_t *)text, strlen(text)};
    return b;
}

static void probe_release(hub_buf *buf) {
    free(buf->ptr);
    buf->ptr = NULL;
}

/* Adds one to the counter under `key`, retrying when another writer won the CAS. */
static void probe_increment(probe *p, const char *key) {
    for (int attempt = 0; attempt < 100; attempt++) {
        hub_buf value = {0};
        uint64_t rev = HUB_KV_MUST_NOT_EXIST;
        long count = 0;
        hub_status got = p->host->kv_get(p->hctx, probe_bytes(key), &value, &rev);
        if (got == HUB_OK) {
            char text[32] = {0};
            memcpy(text, value.ptr, value.len < 31 ? value.len : 31);
            count = strtol(text, NULL, 10);
            if (value.release) value.release(&value);
        } else {
            rev = HUB_KV_MUST_NOT_EXIST;
        }
        char next[32];
        snprintf(next, sizeof next, "%ld", count + 1);
        uint64_t new_rev = 0;
        hub_status put = p->host->kv_put(p->hctx, probe_bytes(key), probe_bytes(next), rev, &new_rev);
        if (put != HUB_CONFLICT) return;
    }
}

static hub_status probe_create(const hub_host_api *host, void *hctx, hub_bytes config, void **out_inst, hub_buf *out_err) {
    (void)config;
    (void)out_err;
    if ((host->caps & HUB_HOST_CAP_KV) == 0 || (host->caps & HUB_HOST_CAP_PUBSUB) == 0) {
        /* Under `orderhub check` there is no KV: say so and succeed without it. */
        host->log(hctx, HUB_LOG_INFO, probe_bytes("probe: no KV/pubsub in this host context"));
        *out_inst = calloc(1, sizeof(probe));
        ((probe *)*out_inst)->host = host;
        ((probe *)*out_inst)->hctx = hctx;
        return HUB_OK;
    }
    probe *p = calloc(1, sizeof *p);
    p->host = host;
    p->hctx = hctx;
    hub_buf pattern = {0};
    const char *subscribe_to = "com.orderhub.order.*";
    char configured[128] = {0};
    if (host->config_get(hctx, probe_bytes("pattern"), &pattern) == HUB_OK) {
        memcpy(configured, pattern.ptr, pattern.len < 127 ? pattern.len : 127);
        if (pattern.release) pattern.release(&pattern);
        subscribe_to = configured;
    }
    uint64_t sub = 0;
    host->subscribe(hctx, probe_bytes(subscribe_to), &sub);
    host->metric_define(hctx, probe_bytes("probe_events_total"), HUB_METRIC_COUNTER, probe_bytes("events seen"), &p->metric);
    uint64_t rev = 0;
    char stamp[64];
    snprintf(stamp, sizeof stamp, "%llu", (unsigned long long)host->clock_wall_ns(hctx));
    host->kv_put(hctx, probe_bytes("created_at_ns"), probe_bytes(stamp), HUB_KV_ANY_REV, &rev);
    *out_inst = p;
    return HUB_OK;
}

static void probe_destroy(void *inst) { free(inst); }

static hub_status probe_on_event(void *inst, const hub_event *event) {
    probe *p = inst;
    probe_increment(p, "seen");
    p->host->metric_record(p->hctx, p->metric, 1);
    if (p->subject[0] == '\0' && event->subject.len > 0 && event->subject.len < sizeof p->subject) {
        memcpy(p->subject, event->subject.ptr, event->subject.len);
        p->subject[event->subject.len] = '\0';
        /* Ask for a timer; when it fires we publish an event about this order. */
        p->host->schedule(p->hctx, 20ull * 1000 * 1000, 7);
    }
    return HUB_OK;
}

static void probe_on_timer(void *inst, uint64_t token) {
    probe *p = inst;
    char data[96];
    snprintf(data, sizeof data, "{\"token\":%llu,\"mono_ns_positive\":%s}", (unsigned long long)token,
             p->host->clock_mono_ns(p->hctx) > 0 ? "true" : "false");
    hub_event event;
    memset(&event, 0, sizeof event);
    event.struct_size = sizeof event;
    event.type = probe_bytes("com.example.probe.timer_fired.v1");
    event.subject = probe_bytes(p->subject);
    event.data = probe_bytes(data);
    p->host->publish(p->hctx, &event);
    uint64_t rev = 0;
    p->host->kv_put(p->hctx, probe_bytes("timer"), probe_bytes("fired"), HUB_KV_ANY_REV, &rev);
}

static hub_status probe_evaluate(void *inst, const hub_order *order, hub_buf *out) {
    (void)inst;
    (void)order;
#ifdef PROBE_BAD_JSON
    const char *text = "{\"fired\":[],\"hold\":nul"; /* broken on purpose */
#else
    const char *text = "{\"fired\":[],\"discount_minor\":0,\"hold\":null}";
#endif
    out->len = strlen(text);
    out->ptr = malloc(out->len);
    memcpy(out->ptr, text, out->len);
    out->release = probe_release;
    return HUB_OK;
}

static const hub_rules_api_v1 probe_rules = {.struct_size = sizeof(hub_rules_api_v1), .evaluate = probe_evaluate};

static const void *probe_kind_api(void *inst, uint32_t kind, uint32_t version) {
    (void)inst;
    return kind == HUB_KIND_RULES && version == 1 ? &probe_rules : NULL;
}

static const char *probe_last_error(void *inst) { return inst ? ((probe *)inst)->last_error : ""; }

static const hub_plugin_desc probe_desc = {
    .struct_size = sizeof(hub_plugin_desc),
    .abi_major = HUB_ABI_MAJOR,
    .abi_minor = HUB_ABI_MINOR,
    .id = "test.services-probe",
    .version = "1.0.0",
    .kind = HUB_KIND_RULES,
    .kind_api_version = 1,
    .threading = HUB_THREADING_SERIAL_PER_INSTANCE,
    .caps = HUB_CAP_ON_EVENT | HUB_CAP_ON_TIMER,
    .create = probe_create,
    .destroy = probe_destroy,
    .kind_api = probe_kind_api,
    .last_error = probe_last_error,
    .on_event = probe_on_event,
    .on_timer = probe_on_timer,
};

HUB_EXPORT hub_status hub_plugin_entry_v1(uint16_t major, uint16_t minor, const hub_plugin_desc **out) {
    (void)minor;
    if (major != HUB_ABI_MAJOR) return HUB_UNSUPPORTED;
    *out = &probe_desc;
    return HUB_OK;
}
