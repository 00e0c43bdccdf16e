/*
 * counter_rules.c -- a stateful rules plugin for hot-swap tests (Tests/IntegrationTests/
 * SwapTests). It numbers the orders it judges (1, 2, 3, ...), says which version it is in
 * every answer's tags, and hands its count to a successor through export_state/import_state,
 * so a test can prove that a swap under load lost, repeated and reset nothing.
 *
 *   -DCOUNTER_VERSION='"2.0.0"'   the version it declares (default 1.0.0)
 *   -DCOUNTER_IMPORT_REFUSES      import_state refuses (a swap to it must change nothing)
 *   -DCOUNTER_SLOW_US=N           each evaluate takes N microseconds (in-flight calls at swap time)
 *   -DCOUNTER_CRASH               evaluate of an order whose JSON holds "crash-me" aborts the process
 */
#define _POSIX_C_SOURCE 200809L
#include "hub_abi.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef COUNTER_VERSION
#define COUNTER_VERSION "1.0.0"
#endif

typedef struct {
    atomic_ullong count;
    atomic_ullong quiesced;
    /* What a canary was seeded with at its start (already in the primary's count). */
    atomic_ullong seeded;
    /* What this instance last exported: given back after a failed swap, it is already held. */
    atomic_ullong exported;
} counter;

static void counter_release(hub_buf *buf) {
    free(buf->ptr);
    buf->ptr = NULL;
}

static void counter_fill(hub_buf *out, const char *text, size_t len) {
    out->ptr = malloc(len + 1);
    memcpy(out->ptr, text, len);
    out->len = len;
    out->release = counter_release;
    out->owner = NULL;
}

static hub_status counter_create(const hub_host_api *host, void *hctx, hub_bytes config, void **out_inst, hub_buf *out_err) {
    (void)host;
    (void)hctx;
    /* A config with "refuse" in it is refused, as a plugin refuses a bad key. */
    for (size_t i = 0; i + 6 <= config.len; i++) {
        if (memcmp(config.ptr + i, "refuse", 6) == 0) {
            const char *msg = "config.refuse: this version refuses the config (test)";
            counter_fill(out_err, msg, strlen(msg));
            return HUB_INVALID;
        }
    }
    counter *c = calloc(1, sizeof(counter));
    *out_inst = c;
    return HUB_OK;
}

static void counter_destroy(void *inst) { free(inst); }

static hub_status counter_evaluate(void *inst, const hub_order *order, hub_buf *out) {
    counter *c = inst;
#ifdef COUNTER_CRASH
    for (size_t i = 0; i + 8 <= order->json.len; i++) {
        if (memcmp(order->json.ptr + i, "crash-me", 8) == 0) abort();
    }
#endif
#ifdef COUNTER_SLOW_US
    struct timespec pause = {(time_t)(COUNTER_SLOW_US / 1000000L), (long)(COUNTER_SLOW_US % 1000000L) * 1000L};
    nanosleep(&pause, NULL);
#endif
    unsigned long long n = atomic_fetch_add(&c->count, 1) + 1;
    char text[256];
    int len = snprintf(text, sizeof text,
                       "{\"discount_minor\":0,\"hold\":null,\"fired\":[],\"tags\":[\"v" COUNTER_VERSION "\",\"n:%llu\",\"ip:%.*s\"]}", n,
                       (int)order->client_ip.len, order->client_ip.ptr ? (const char *)order->client_ip.ptr : "");
    counter_fill(out, text, (size_t)len);
    return HUB_OK;
}

static const hub_rules_api_v1 counter_api = {.struct_size = sizeof(hub_rules_api_v1), .evaluate = counter_evaluate};

static const void *counter_kind_api(void *inst, uint32_t kind, uint32_t version) {
    (void)inst;
    return kind == HUB_KIND_RULES && version == 1 ? &counter_api : NULL;
}

static const char *counter_last_error(void *inst) {
    (void)inst;
#ifdef COUNTER_IMPORT_REFUSES
    return "state schema 1 is not understood by this version (test)";
#else
    return "";
#endif
}

static hub_status counter_health(void *inst, hub_buf *out) {
    counter *c = inst;
    char text[128];
    int len = snprintf(text, sizeof text, "{\"status\":\"ok\",\"count\":%llu,\"quiesced\":%llu}", atomic_load(&c->count),
                       atomic_load(&c->quiesced));
    counter_fill(out, text, (size_t)len);
    return HUB_OK;
}

static hub_status counter_quiesce(void *inst, uint64_t deadline) {
    (void)deadline;
    counter *c = inst;
    atomic_fetch_add(&c->quiesced, 1);
    return HUB_OK;
}

static hub_status counter_export(void *inst, hub_buf *out, uint32_t *schema) {
    counter *c = inst;
    char text[32];
    unsigned long long count = atomic_load(&c->count);
    atomic_store(&c->exported, count);
    int len = snprintf(text, sizeof text, "%llu", count);
    counter_fill(out, text, (size_t)len);
    *schema = 1;
    return HUB_OK;
}

static hub_status counter_import(void *inst, hub_bytes state, uint32_t schema) {
#ifdef COUNTER_IMPORT_REFUSES
    (void)inst;
    (void)state;
    (void)schema;
    return HUB_INVALID;
#else
    counter *c = inst;
    if (schema != 1 || state.len == 0 || state.len > 20) return HUB_INVALID;
    char text[32];
    memcpy(text, state.ptr, state.len);
    text[state.len] = 0;
    /* Merged, not added: a fresh instance takes the count; a canary at promotion takes the
     * primary's count plus what it counted itself since its seed (the seed is in both). */
    unsigned long long imported = strtoull(text, NULL, 10);
    unsigned long long own = atomic_load(&c->count);
    if (own != 0 && imported == atomic_load(&c->exported)) {
        /* Our own state back (the successor refused it): nothing new to merge. */
    } else if (own == 0) {
        atomic_store(&c->seeded, imported);
        atomic_store(&c->count, imported);
    } else {
        atomic_store(&c->count, imported + own - atomic_load(&c->seeded));
    }
    return HUB_OK;
#endif
}

static const hub_plugin_desc counter_desc = {
    .struct_size = sizeof(hub_plugin_desc),
    .abi_major = HUB_ABI_MAJOR,
    .abi_minor = HUB_ABI_MINOR,
    .id = "test.counter",
    .version = COUNTER_VERSION,
    .kind = HUB_KIND_RULES,
    .kind_api_version = 1,
    .threading = HUB_THREADING_THREAD_SAFE,
    .caps = HUB_CAP_HEALTH | HUB_CAP_QUIESCE | HUB_CAP_STATE_EXPORT,
    .create = counter_create,
    .destroy = counter_destroy,
    .kind_api = counter_kind_api,
    .last_error = counter_last_error,
    .health = counter_health,
    .quiesce = counter_quiesce,
    .export_state = counter_export,
    .import_state = counter_import,
};

HUB_EXPORT hub_status hub_plugin_entry_v1(uint16_t major, uint16_t minor, const hub_plugin_desc **out) {
    (void)major;
    (void)minor;
    *out = &counter_desc;
    return HUB_OK;
}
