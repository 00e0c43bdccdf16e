/*
 * minimal_c_plugin.c -- the smallest complete OrderHub rules plugin in plain C99.
 *
 * Tags every order with a label taken from the manifest (`config: {label: ...}`, default
 * "minimal"). Uses nothing but hub_abi.h and libc; every function is static, so the only
 * exported symbol is hub_plugin_entry_v1.
 *
 * Build and inspect (see docs/plugin-author-guide.md):
 *   cc -std=c99 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden \
 *      -I PluginAPI/CHubABI/include docs/examples/minimal_c_plugin.c -o minimal.so
 *   orderhub plugin inspect minimal.so
 */
#include "hub_abi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINIMAL_LABEL_MAX 128

/* One instance per manifest slot. Immutable after create, except last_error. */
typedef struct minimal_instance {
    char label_json[2 * MINIMAL_LABEL_MAX + 1]; /* the label, already escaped for a JSON string */
    char last_error[256];                       /* reason for the last failed call; "" if none */
} minimal_instance;

/* ---- Owned buffers: we allocate with malloc, so we free with our own release. ---- */

static void minimal_release(hub_buf *buf) {
    free(buf->ptr);
    buf->ptr = NULL;
    buf->len = 0;
}

/* Copies `len` bytes into a new owned buffer. Returns 0 when out of memory. */
static int minimal_fill(hub_buf *out, const char *text, size_t len) {
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) return 0;
    memcpy(copy, text, len);
    out->ptr = copy;
    out->len = len;
    out->release = minimal_release;
    out->owner = NULL;
    return 1;
}

static hub_status minimal_refuse(hub_buf *out_err, hub_status status, const char *message) {
    if (out_err != NULL) minimal_fill(out_err, message, strlen(message));
    return status;
}

/* Escapes `len` bytes of `text` for a JSON string into dst (NUL-terminated).
 * Returns 0 if the text is too long or contains a control character. */
static int minimal_escape(const uint8_t *text, size_t len, char *dst, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = text[i];
        if (c < 0x20) return 0;
        if (n + 3 > cap) return 0;
        if (c == '"' || c == '\\') dst[n++] = '\\';
        dst[n++] = (char)c;
    }
    dst[n] = '\0';
    return 1;
}

/* ---- The descriptor's required functions. ---- */

static hub_status minimal_create(const hub_host_api *host, void *hctx, hub_bytes config_json, void **out_inst,
                                 hub_buf *out_err) {
    (void)config_json; /* we read single values through config_get instead of parsing JSON */
    if (host == NULL || out_inst == NULL) return minimal_refuse(out_err, HUB_INVALID, "create: NULL host or out_inst");
    /* Never call a service the host's table is too small to contain. */
    if (host->struct_size < offsetof(hub_host_api, config_get) + sizeof host->config_get)
        return minimal_refuse(out_err, HUB_UNSUPPORTED, "host services table has no config_get (needs ABI 1.0)");

    minimal_instance *inst = calloc(1, sizeof *inst);
    if (inst == NULL) return minimal_refuse(out_err, HUB_NOMEM, "out of memory");

    static const char key[] = "label";
    hub_bytes key_bytes = {(const uint8_t *)key, sizeof key - 1};
    hub_buf value = {0};
    hub_status status = host->config_get(hctx, key_bytes, &value);
    int ok;
    if (status == HUB_OK) {
        ok = value.len <= MINIMAL_LABEL_MAX &&
             minimal_escape(value.ptr, value.len, inst->label_json, sizeof inst->label_json);
        if (value.release != NULL) value.release(&value); /* the host's buffer: release exactly once */
    } else if (status == HUB_NOT_FOUND) {
        ok = minimal_escape((const uint8_t *)"minimal", 7, inst->label_json, sizeof inst->label_json);
    } else {
        free(inst);
        return minimal_refuse(out_err, status, "config_get(\"label\") failed");
    }
    if (!ok) {
        free(inst);
        return minimal_refuse(out_err, HUB_INVALID, "config.label: at most 128 bytes, no control characters");
    }
    *out_inst = inst;
    return HUB_OK;
}

static void minimal_destroy(void *inst) { free(inst); }

static const char *minimal_last_error(void *inst) {
    minimal_instance *self = inst;
    return self != NULL ? self->last_error : ""; /* never NULL */
}

/* ---- The rules table. ---- */

static hub_status minimal_evaluate(void *inst, const hub_order *order, hub_buf *out_json) {
    minimal_instance *self = inst;
    if (order == NULL || out_json == NULL) {
        snprintf(self->last_error, sizeof self->last_error, "evaluate: NULL order or out_json");
        return HUB_INVALID;
    }
    char json[sizeof self->label_json + 128];
    int n = snprintf(json, sizeof json,
                     "{\"fired\":[{\"rule\":\"minimal\",\"effect\":\"tag\"}],"
                     "\"discount_minor\":0,\"hold\":null,\"tags\":[\"%s\"]}",
                     self->label_json);
    if (n < 0 || (size_t)n >= sizeof json || !minimal_fill(out_json, json, (size_t)n)) {
        snprintf(self->last_error, sizeof self->last_error, "evaluate: out of memory");
        return HUB_NOMEM;
    }
    self->last_error[0] = '\0';
    return HUB_OK;
}

static const hub_rules_api_v1 minimal_rules_api = {
    .struct_size = sizeof(hub_rules_api_v1),
    .evaluate = minimal_evaluate,
};

static const void *minimal_kind_api(void *inst, uint32_t kind, uint32_t version) {
    (void)inst;
    if (kind == HUB_KIND_RULES && version == 1) return &minimal_rules_api; /* we implement v1 only */
    return NULL;
}

/* ---- The descriptor: static, zero-filled beyond what we set (no optional functions). ---- */

static const hub_plugin_desc minimal_descriptor = {
    .struct_size = sizeof(hub_plugin_desc),
    .abi_major = HUB_ABI_MAJOR,
    .abi_minor = HUB_ABI_MINOR,
    .id = "example.rules.minimal-c",
    .version = "0.1.0",
    .kind = HUB_KIND_RULES,
    .kind_api_version = HUB_RULES_API_VERSION,
    .threading = HUB_THREADING_SERIAL_PER_INSTANCE, /* last_error is per instance, not per thread */
    .caps = 0,
    .create = minimal_create,
    .destroy = minimal_destroy,
    .kind_api = minimal_kind_api,
    .last_error = minimal_last_error,
};

HUB_EXPORT hub_status hub_plugin_entry_v1(uint16_t host_abi_major, uint16_t host_abi_minor,
                                          const hub_plugin_desc **out_desc) {
    /* The minor we were built against, as a variable: while HUB_ABI_MINOR is 0, comparing
     * the unsigned host_abi_minor with the literal trips gcc's -Wtype-limits. */
    static const uint16_t built_minor = HUB_ABI_MINOR;
    if (out_desc == NULL) return HUB_INVALID;
    if (host_abi_major != HUB_ABI_MAJOR || host_abi_minor < built_minor) return HUB_UNSUPPORTED;
    *out_desc = &minimal_descriptor;
    return HUB_OK;
}
