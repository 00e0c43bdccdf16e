/*
 * fixture_plugin.c -- one C plugin, compiled by the tests with -D switches into every kind
 * of broken library the loader must refuse without crashing (Tests/IntegrationTests/LoaderTests).
 * With no switch it is a valid connector that acknowledges every event.
 */
#include "hub_abi.h"

#include <stdlib.h>
#include <string.h>

/* Some variants leave a function or table unused on purpose. */
#define FIXTURE_MAYBE_UNUSED __attribute__((unused))

#ifndef FIXTURE_MAJOR
#define FIXTURE_MAJOR HUB_ABI_MAJOR
#endif
#ifndef FIXTURE_MINOR
#define FIXTURE_MINOR HUB_ABI_MINOR
#endif
#ifndef FIXTURE_VERSION
#define FIXTURE_VERSION "1.0.0"
#endif

static void fixture_release(hub_buf *buf) {
    free(buf->ptr);
    buf->ptr = NULL;
}

static void fixture_fill(hub_buf *out, const char *text) {
    if (out == NULL) return;
    size_t len = strlen(text);
    out->ptr = malloc(len + 1);
    memcpy(out->ptr, text, len);
    out->len = len;
    out->release = fixture_release;
    out->owner = NULL;
}

FIXTURE_MAYBE_UNUSED static int fixture_instance = 42;

FIXTURE_MAYBE_UNUSED static hub_status fixture_create(const hub_host_api *host, void *hctx, hub_bytes config, void **out_inst, hub_buf *out_err) {
    (void)host;
    (void)hctx;
    (void)config;
#ifdef FIXTURE_CREATE_FAILS
    (void)out_inst;
    fixture_fill(out_err, "config.url: required, the WMS endpoint");
    return HUB_INVALID;
#else
    (void)out_err;
    *out_inst = &fixture_instance;
    return HUB_OK;
#endif
}

static void fixture_destroy(void *inst) { (void)inst; }

static hub_status fixture_deliver(void *inst, const hub_event *event, hub_buf *out_ack) {
    (void)inst;
    (void)event;
    fixture_fill(out_ack, "{\"ok\":true}");
    return HUB_OK;
}

FIXTURE_MAYBE_UNUSED static const hub_connector_api_v1 fixture_api = {.struct_size = sizeof(hub_connector_api_v1), .deliver = fixture_deliver};

static const void *fixture_kind_api(void *inst, uint32_t kind, uint32_t version) {
    (void)inst;
    (void)version;
#ifdef FIXTURE_NO_KIND_TABLE
    (void)kind;
    return NULL;
#else
    return kind == HUB_KIND_CONNECTOR ? &fixture_api : NULL;
#endif
}

static const char *fixture_last_error(void *inst) {
    (void)inst;
    return "";
}

FIXTURE_MAYBE_UNUSED static const hub_plugin_desc fixture_desc = {
#ifdef FIXTURE_SMALL_DESC
    .struct_size = 16,
#elif defined(FIXTURE_ABI_1_0)
    /* A plugin built against ABI 1.0: its descriptor ends where 1.0's did (before control). */
    .struct_size = offsetof(hub_plugin_desc, control),
#else
    .struct_size = sizeof(hub_plugin_desc),
#endif
    .abi_major = FIXTURE_MAJOR,
    .abi_minor = FIXTURE_MINOR,
    .id = "test.fixture",
    .version = FIXTURE_VERSION,
    .kind = HUB_KIND_CONNECTOR,
    .kind_api_version = 1,
    .threading = HUB_THREADING_SERIAL_PER_INSTANCE,
#ifdef FIXTURE_NULL_CREATE
    .create = NULL,
#else
    .create = fixture_create,
#endif
    .destroy = fixture_destroy,
    .kind_api = fixture_kind_api,
    .last_error = fixture_last_error,
};

#ifdef FIXTURE_NO_ENTRY
HUB_EXPORT hub_status hub_plugin_entry_v0(uint16_t major, uint16_t minor, const hub_plugin_desc **out) {
#else
HUB_EXPORT hub_status hub_plugin_entry_v1(uint16_t major, uint16_t minor, const hub_plugin_desc **out) {
#endif
    (void)major;
    (void)minor;
#ifdef FIXTURE_ENTRY_REFUSES
    (void)out;
    return HUB_UNSUPPORTED;
#else
    *out = &fixture_desc;
    return HUB_OK;
#endif
}
