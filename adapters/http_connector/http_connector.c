/*
 * http_connector.c -- a generic connector to warehouse (WMS), transport (TMS) and carrier
 * systems, in plain C against hub_abi.h and libcurl only. What it says to a system comes
 * from a vendor profile (adapters/profiles/NAME.json, see docs/connectors.md): endpoints,
 * authentication (API key, HMAC-signed requests, OAuth2 client credentials), request
 * templates from our fulfilment instruction to the vendor's body, status mapping, retryable
 * codes and a rate limit.
 *
 *   deliver       one event the hub owes the system (a dispatch request, a cancel) -> HTTP
 *   inbound       a status callback: check its HMAC signature, map the vendor's status
 *   query_status  ask the system for an order's status (the hub's reconciler)
 *
 * Thread-safe: the hub delivers on several threads; each request takes a keep-alive curl
 * handle from a pool. Every request carries "Idempotency-Key: <event id>" (stable across
 * retries and restarts), so a retried request has one effect.
 */
#include "include/http_connector.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_crypto.h"
#include "hc_http.h"
#include "hc_json.h"
#include "hc_profile.h"
#include "hc_template.h"

typedef struct hc_instance {
    const hub_host_api *host;
    void *hctx;
    hc_json *config;
    hc_profile profile;
    hc_http http;
    uint32_t metric_requests, metric_seconds, metric_failures, metric_callbacks, metric_denied;
} hc_instance;

/* last_error is per thread: several deliveries may fail at once on different threads. */
static __thread char last_error[1400];

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

static void buf_release(hub_buf *buf) {
    free(buf->ptr);
    buf->ptr = NULL;
    buf->len = 0;
}

/* Hands an hc_buf's bytes to the host (ownership moves; the hc_buf is left empty). */
static void give(hub_buf *out, hc_buf *b) {
    if (out == NULL || b->failed) {
        hc_buf_free(b);
        return;
    }
    out->ptr = (uint8_t *)b->data;
    out->len = b->len;
    out->release = buf_release;
    out->owner = NULL;
    b->data = NULL;
    b->len = b->cap = 0;
}

static hub_bytes text_bytes(const char *text) {
    hub_bytes b = {(const uint8_t *)text, strlen(text)};
    return b;
}

static hc_json *json_of(hub_bytes bytes) {
    char err[200];
    return bytes.len ? hc_json_parse((const char *)bytes.ptr, bytes.len, err, sizeof err) : NULL;
}

static hc_json *string_node(hub_bytes b) { return hc_json_new_string(b.ptr ? (const char *)b.ptr : "", b.len); }

static hub_status fail_create(hub_buf *out_err, const char *message) {
    hc_buf b = {0};
    hc_buf_puts(&b, message);
    give(out_err, &b);
    return HUB_INVALID;
}

static void define_metrics(hc_instance *c) {
    const hub_host_api *h = c->host;
    h->metric_define(c->hctx, text_bytes("connector_requests_total"), HUB_METRIC_COUNTER, text_bytes("HTTP requests sent to the system"), &c->metric_requests);
    h->metric_define(c->hctx, text_bytes("connector_request_seconds"), HUB_METRIC_HISTOGRAM, text_bytes("Request latency"), &c->metric_seconds);
    h->metric_define(c->hctx, text_bytes("connector_failures_total"), HUB_METRIC_COUNTER, text_bytes("Requests that failed"), &c->metric_failures);
    h->metric_define(c->hctx, text_bytes("connector_callbacks_total"), HUB_METRIC_COUNTER, text_bytes("Status callbacks translated"), &c->metric_callbacks);
    h->metric_define(c->hctx, text_bytes("connector_callbacks_denied_total"), HUB_METRIC_COUNTER,
                     text_bytes("Status callbacks refused for a missing or wrong signature"), &c->metric_denied);
}

static hub_status hc_create(const hub_host_api *host, void *hctx, hub_bytes config, void **out_inst, hub_buf *out_err) {
    if (host == NULL || out_inst == NULL) return HUB_INVALID;
    if (host->struct_size < offsetof(hub_host_api, schedule) + sizeof(host->schedule))
        return fail_create(out_err, "host services table too small for the HTTP connector (needs ABI 1.0)");
    hc_instance *c = calloc(1, sizeof *c);
    if (c == NULL) return HUB_NOMEM;
    c->host = host;
    c->hctx = hctx;
    c->config = json_of(config);
    if (c->config == NULL) c->config = hc_json_new_object();
    char err[1200];
    const char *profile = hc_json_string(hc_json_get(c->config, "profile"), NULL);
    const char *dir = hc_json_string(hc_json_get(c->config, "_manifest_dir"), NULL);
    int ok = profile ? hc_profile_load(&c->profile, profile, dir, c->config, err, sizeof err)
                     : hc_profile_plain(&c->profile, c->config, err, sizeof err);
    if (!ok) {
        hc_json_free(c->config);
        free(c);
        return fail_create(out_err, err);
    }
    /* The manifest's config may tighten the profile's timeouts for this endpoint. */
    const hc_json *t = hc_json_get(c->config, "timeout_ms");
    const hc_json *ct = hc_json_get(c->config, "connect_timeout_ms");
    if ((t && hc_json_number(t) <= 0) || (ct && hc_json_number(ct) <= 0)) {
        hc_profile_free(&c->profile);
        hc_json_free(c->config);
        free(c);
        return fail_create(out_err, "config.timeout_ms / config.connect_timeout_ms: must be positive integers (milliseconds)");
    }
    if (t) c->profile.timeout_ms = (long)hc_json_number(t);
    if (ct) c->profile.connect_timeout_ms = (long)hc_json_number(ct);
    hc_http_init(&c->http, &c->profile);
    define_metrics(c);
    char message[1400];
    snprintf(message, sizeof message, "profile '%s' (%s) at %s, timeout %ld ms%s", c->profile.name, c->profile.file, c->profile.base_url,
             c->profile.timeout_ms, c->profile.callbacks ? ", signed callbacks" : "");
    host->log(hctx, HUB_LOG_INFO, text_bytes(message));
    *out_inst = c;
    return HUB_OK;
}

static void hc_destroy(void *inst) {
    hc_instance *c = inst;
    if (c == NULL) return;
    hc_http_cleanup(&c->http);
    hc_profile_free(&c->profile);
    hc_json_free(c->config);
    free(c);
}

/* The roots templates read: event, data, order_id, config, ack (status queries). */
typedef struct scopes {
    hc_json *event, *order_id, *root;
    hc_scope list[6];
    size_t count;
} scopes;

static void scopes_free(scopes *s) {
    hc_json_free(s->root); /* owns event, data and order_id */
}

static void scopes_for_event(scopes *s, hc_instance *c, const hub_event *e, hc_json *data) {
    memset(s, 0, sizeof *s);
    s->root = hc_json_new_object();
    s->event = hc_json_new_object();
    hc_json_set(s->event, "id", string_node(e->id));
    hc_json_set(s->event, "type", string_node(e->type));
    hc_json_set(s->event, "source", string_node(e->source));
    hc_json_set(s->event, "subject", string_node(e->subject));
    hc_json_set(s->root, "event", s->event);
    hc_json_set(s->root, "data", data ? data : hc_json_new_null());
    hc_json_set(s->root, "order_id", string_node(e->subject));
    const char *names[] = {"event", "data", "order_id"};
    for (size_t i = 0; i < 3; i++) {
        s->list[i].name = names[i];
        s->list[i].value = hc_json_get(s->root, names[i]);
    }
    s->list[3].name = "config";
    s->list[3].value = c->config;
    s->count = 4;
}

static int render_text(hc_instance *c, const char *tmpl, const scopes *s, hc_buf *out, const char *what) {
    char err[600];
    if (hc_template_render_text(tmpl, s->list, s->count, c->profile.maps, out, err, sizeof err)) return 1;
    set_error("profile %s: %s: %s", c->profile.name, what, err);
    return 0;
}

/* URL, headers and body of one operation. */
static int build_request(hc_instance *c, const hc_operation *op, const hub_event *e, const scopes *s, hc_buf *url,
                         struct curl_slist **headers, hc_buf *body) {
    hc_buf_puts(url, c->profile.base_url);
    if (!render_text(c, op->path, s, url, "path")) return 0;
    if (op->body) {
        char err[600];
        hc_json *rendered = hc_template_render(op->body, s->list, s->count, c->profile.maps, err, sizeof err);
        if (rendered == NULL) {
            set_error("profile %s: operations.%s.body: %s", c->profile.name, op->name, err);
            return 0;
        }
        hc_json_write(body, rendered);
        hc_json_free(rendered);
    } else if (e) {
        hc_buf_append(body, e->data.ptr ? (const char *)e->data.ptr : "", e->data.len);
    }
    char line[700];
    if (strcmp(op->method, "GET") != 0) *headers = curl_slist_append(*headers, "Content-Type: application/json");
    *headers = curl_slist_append(*headers, "Accept: application/json");
    if (e) {
        snprintf(line, sizeof line, "Idempotency-Key: %.*s", (int)(e->id.len > 600 ? 600 : e->id.len), (const char *)e->id.ptr);
        *headers = curl_slist_append(*headers, line);
        snprintf(line, sizeof line, "X-OrderHub-Order: %.*s", (int)(e->subject.len > 600 ? 600 : e->subject.len), (const char *)e->subject.ptr);
        *headers = curl_slist_append(*headers, line);
    }
    for (size_t i = 0; op->headers && i < hc_json_count(op->headers); i++) {
        hc_buf value = {0};
        if (!render_text(c, hc_json_string(hc_json_at(op->headers, i), NULL), s, &value, hc_json_key_at(op->headers, i))) {
            hc_buf_free(&value);
            return 0;
        }
        snprintf(line, sizeof line, "%s: %s", hc_json_key_at(op->headers, i), value.data ? value.data : "");
        *headers = curl_slist_append(*headers, line);
        hc_buf_free(&value);
    }
    return !url->failed && !body->failed;
}

/* {"retry_after_ms": N} for the host when the system asked us to wait. */
static void retry_hint(hub_buf *out, long ms) {
    if (ms < 0 || out == NULL) return;
    hc_buf b = {0};
    hc_buf_printf(&b, "{\"retry_after_ms\":%ld}", ms);
    give(out, &b);
}

/* Turns an HTTP outcome into a hub status (and the acknowledgement on success). */
static hub_status outcome(hc_instance *c, const hc_operation *op, const char *url, hc_response *res, hub_buf *out_ack) {
    if (res->rc != CURLE_OK) {
        set_error("%s", res->error);
        return res->rc == CURLE_OPERATION_TIMEDOUT ? HUB_TIMEOUT : HUB_AGAIN;
    }
    if (res->code >= 200 && res->code <= 299) {
        hc_buf ack = {0};
        char err[100];
        hc_json *reply = res->body.len ? hc_json_parse(res->body.data, res->body.len, err, sizeof err) : NULL;
        hc_buf_printf(&ack, "{\"http_status\":%ld,\"operation\":", res->code);
        hc_json_write_string(&ack, op->name, strlen(op->name));
        hc_buf_puts(&ack, ",\"reply\":");
        if (reply) hc_json_write(&ack, reply); else hc_buf_puts(&ack, "null");
        hc_buf_puts(&ack, "}");
        hc_json_free(reply);
        give(out_ack, &ack);
        return HUB_OK;
    }
    c->host->metric_record(c->hctx, c->metric_failures, 1);
    if (res->limited) {
        /* Our own rate limit, not the system's answer: always a wait, whatever retry_on says. */
        set_error("%s", res->error);
        retry_hint(out_ack, res->retry_after_ms);
        return HUB_AGAIN;
    }
    set_error("%s %.400s answered HTTP %ld: %.300s", op->method, url, res->code, res->body.data ? res->body.data : "");
    if (hc_profile_is_retry(&c->profile, res->code)) {
        retry_hint(out_ack, res->retry_after_ms);
        return HUB_AGAIN;
    }
    return res->code == 404 && strcmp(op->name, "status") == 0 ? HUB_NOT_FOUND : HUB_INVALID;
}

/* Runs one operation: build, send, map. */
static hub_status run_operation(hc_instance *c, const hc_operation *op, const hub_event *e, const scopes *s, hub_buf *out) {
    hc_buf url = {0}, body = {0};
    struct curl_slist *headers = NULL;
    hub_status status = HUB_INVALID;
    if (build_request(c, op, e, s, &url, &headers, &body)) {
        hc_response res;
        memset(&res, 0, sizeof res);
        uint64_t started = hc_now_ns();
        int sent = hc_http_send(&c->http, op->method, url.data, headers, body.data, body.len, &res);
        c->host->metric_record(c->hctx, c->metric_requests, 1);
        c->host->metric_record(c->hctx, c->metric_seconds, (double)(hc_now_ns() - started) / 1e9);
        if (!sent) {
            set_error("%s", res.error);
            status = HUB_AGAIN;
        } else {
            status = outcome(c, op, url.data, &res, out);
        }
        hc_buf_free(&res.body);
    }
    curl_slist_free_all(headers);
    hc_buf_free(&url);
    hc_buf_free(&body);
    return status;
}

static hub_status hc_deliver(void *inst, const hub_event *event, hub_buf *out_ack) {
    hc_instance *c = inst;
    if (c == NULL || event == NULL) return HUB_INVALID;
    last_error[0] = '\0';
    scopes s;
    /* The plain mode sends the data as it is: no template reads it, so it is not parsed. */
    scopes_for_event(&s, c, event, c->profile.plain ? NULL : json_of(event->data));
    char type[200];
    snprintf(type, sizeof type, "%.*s", (int)(event->type.len > 190 ? 190 : event->type.len), (const char *)event->type.ptr);
    const hc_operation *op = hc_profile_operation(&c->profile, type, s.root);
    /* The plain profile (config.url only) POSTs every event it is subscribed to. */
    if (op == NULL && c->profile.plain) op = &c->profile.ops[0];
    if (op == NULL) {
        /* Nothing to tell this system about this event (e.g. a status it does not track). */
        hc_buf ack = {0};
        hc_buf_puts(&ack, "{\"skipped\":true,\"reason\":\"the profile has no operation for this event\"}");
        give(out_ack, &ack);
        scopes_free(&s);
        return HUB_OK;
    }
    hub_status status = run_operation(c, op, event, &s, out_ack);
    scopes_free(&s);
    return status;
}

/* {"order_id","status","state","exception"} for the host. */
static void status_answer(hc_instance *c, const char *order, const char *status, hub_buf *out) {
    int exception = 0;
    const char *state = hc_profile_state(&c->profile, status, &exception);
    hc_buf b = {0};
    hc_buf_puts(&b, "{\"order_id\":");
    hc_json_write_string(&b, order, strlen(order));
    hc_buf_puts(&b, ",\"status\":");
    hc_json_write_string(&b, status, strlen(status));
    hc_buf_puts(&b, ",\"state\":");
    hc_json_write_string(&b, state ? state : "", state ? strlen(state) : 0);
    hc_buf_printf(&b, ",\"exception\":%s%s}", exception ? "true" : "false", state ? "" : ",\"unknown_status\":true");
    give(out, &b);
}

/* Checks the sender's HMAC-SHA256 over the raw body, in constant time. */
static hub_status verify_signature(hc_instance *c, const hc_json *headers, hub_bytes body) {
    const hc_profile *p = &c->profile;
    char name[80];
    size_t n = strlen(p->cb_header);
    for (size_t i = 0; i <= n && i < sizeof name; i++) name[i] = (char)(p->cb_header[i] >= 'A' && p->cb_header[i] <= 'Z' ? p->cb_header[i] + 32 : p->cb_header[i]);
    size_t got_len = 0;
    const char *got = hc_json_string(hc_json_get(headers, name), &got_len);
    if (got == NULL) {
        set_error("missing %s header: callbacks must be signed (HMAC-SHA256 of the body)", p->cb_header);
        return HUB_DENIED;
    }
    uint8_t mac[HC_SHA256_LEN];
    hc_hmac_sha256(p->cb_secret, strlen(p->cb_secret), body.ptr ? (const char *)body.ptr : "", body.len, mac);
    hc_buf expected = {0};
    hc_buf_puts(&expected, p->cb_prefix);
    if (p->cb_base64) {
        hc_base64(mac, sizeof mac, &expected);
    } else {
        char hex[2 * HC_SHA256_LEN + 1];
        hc_hex(mac, sizeof mac, hex);
        hc_buf_append(&expected, hex, 2 * HC_SHA256_LEN);
    }
    int same = hc_equal_ct(expected.data ? expected.data : "", expected.len, got, got_len);
    hc_buf_free(&expected);
    if (!same) {
        set_error("%s does not match the body (HMAC-SHA256 with the configured callback secret)", p->cb_header);
        return HUB_DENIED;
    }
    return HUB_OK;
}

static hub_status hc_inbound(void *inst, const hub_event *event, hub_bytes request_json, hub_bytes raw_body, hub_buf *out_json) {
    hc_instance *c = inst;
    if (c == NULL || event == NULL) return HUB_INVALID;
    last_error[0] = '\0';
    if (!c->profile.callbacks) {
        set_error("profile %s takes no callbacks (it has no \"callbacks\" section)", c->profile.name);
        return HUB_INVALID;
    }
    hc_json *request = json_of(request_json);
    hub_status status = verify_signature(c, hc_json_get(request, "headers"), raw_body);
    hc_json_free(request);
    if (status != HUB_OK) {
        c->host->metric_record(c->hctx, c->metric_denied, 1);
        return status;
    }
    hc_json *data = json_of(event->data);
    if (data == NULL) {
        set_error("the callback's data is not JSON");
        return HUB_INVALID;
    }
    scopes s;
    scopes_for_event(&s, c, event, data);
    hc_buf order = {0}, vendor = {0};
    if (render_text(c, c->profile.cb_order, &s, &order, "callbacks.order_id") &&
        render_text(c, c->profile.cb_status, &s, &vendor, "callbacks.status")) {
        if (order.len == 0 || vendor.len == 0) {
            set_error("profile %s: the callback has no %s (callbacks.%s is %s)", c->profile.name, order.len ? "status" : "order id",
                      order.len ? "status" : "order_id", order.len ? c->profile.cb_status : c->profile.cb_order);
            status = HUB_INVALID;
        } else {
            status_answer(c, order.data, vendor.data, out_json);
            c->host->metric_record(c->hctx, c->metric_callbacks, 1);
            status = HUB_OK;
        }
    } else {
        status = HUB_INVALID;
    }
    hc_buf_free(&order);
    hc_buf_free(&vendor);
    scopes_free(&s);
    return status;
}

static hub_status hc_query_status(void *inst, hub_bytes context_json, hub_buf *out_json) {
    hc_instance *c = inst;
    if (c == NULL) return HUB_INVALID;
    last_error[0] = '\0';
    if (c->profile.status_op < 0) {
        set_error("profile %s has no status operation", c->profile.name);
        return HUB_UNSUPPORTED;
    }
    const hc_operation *op = &c->profile.ops[c->profile.status_op];
    hc_json *context = json_of(context_json);
    const char *order = hc_json_string(hc_json_get(context, "order_id"), NULL);
    if (order == NULL) {
        hc_json_free(context);
        set_error("query_status needs {\"order_id\": ...}");
        return HUB_INVALID;
    }
    hub_event e;
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    e.subject = text_bytes(order);
    scopes s;
    scopes_for_event(&s, c, &e, NULL);
    s.list[s.count].name = "ack";
    s.list[s.count++].value = hc_json_get(context, "ack");
    hub_buf reply = {0};
    hub_status status = run_operation(c, op, NULL, &s, &reply);
    if (status == HUB_OK) {
        hc_json *ack = json_of((hub_bytes){reply.ptr, reply.len});
        hc_json *body = hc_json_get(ack, "reply");
        hc_buf vendor = {0};
        hc_json_text(hc_json_path(body, hc_json_string(op->status_path, NULL)), &vendor);
        if (vendor.len == 0) {
            set_error("%s has no status for order %s (nothing at %s in its reply)", c->profile.name, order, hc_json_string(op->status_path, NULL));
            status = HUB_NOT_FOUND;
        } else {
            status_answer(c, order, vendor.data, out_json);
        }
        hc_buf_free(&vendor);
        hc_json_free(ack);
    }
    if (reply.release) reply.release(&reply);
    scopes_free(&s);
    hc_json_free(context);
    return status;
}

static const char *hc_last_error(void *inst) {
    (void)inst;
    return last_error;
}

static hub_status hc_health(void *inst, hub_buf *out_json) {
    hc_instance *c = inst;
    hc_buf b = {0};
    hc_buf_puts(&b, "{\"status\":\"ok\",\"profile\":");
    hc_json_write_string(&b, c->profile.name, strlen(c->profile.name));
    hc_buf_puts(&b, ",\"base_url\":");
    hc_json_write_string(&b, c->profile.base_url, strlen(c->profile.base_url));
    hc_buf_printf(&b, ",\"callbacks\":%s,\"status_queries\":%s}", c->profile.callbacks ? "true" : "false",
                  c->profile.status_op >= 0 ? "true" : "false");
    give(out_json, &b);
    return HUB_OK;
}

/* One table per combination: a function is offered (non-NULL) only when the instance's profile
 * can do it, so the host neither routes callbacks to a profile without a "callbacks" section
 * nor starts a reconciler for one without a "status" operation. */
static const hub_connector_api_v1 connector_apis[4] = {
    {.struct_size = sizeof(hub_connector_api_v1), .deliver = hc_deliver},
    {.struct_size = sizeof(hub_connector_api_v1), .deliver = hc_deliver, .inbound = hc_inbound},
    {.struct_size = sizeof(hub_connector_api_v1), .deliver = hc_deliver, .query_status = hc_query_status},
    {.struct_size = sizeof(hub_connector_api_v1), .deliver = hc_deliver, .inbound = hc_inbound, .query_status = hc_query_status},
};

static const void *hc_kind_api(void *inst, uint32_t kind, uint32_t version) {
    hc_instance *c = inst;
    if (c == NULL || kind != HUB_KIND_CONNECTOR || version != 1) return NULL;
    return &connector_apis[(c->profile.callbacks ? 1 : 0) + (c->profile.status_op >= 0 ? 2 : 0)];
}

static const hub_plugin_desc descriptor = {
    .struct_size = sizeof(hub_plugin_desc),
    .abi_major = HUB_ABI_MAJOR,
    .abi_minor = HUB_ABI_MINOR,
    .id = "orderhub.connector.http",
    .version = "2.0.0",
    .kind = HUB_KIND_CONNECTOR,
    .kind_api_version = HUB_CONNECTOR_API_VERSION,
    .threading = HUB_THREADING_THREAD_SAFE,
    .caps = HUB_CAP_HEALTH,
    .create = hc_create,
    .destroy = hc_destroy,
    .kind_api = hc_kind_api,
    .last_error = hc_last_error,
    .health = hc_health,
};

HUB_EXPORT hub_status hub_plugin_entry_v1(uint16_t host_abi_major, uint16_t host_abi_minor, const hub_plugin_desc **out_desc) {
    if (out_desc == NULL) return HUB_INVALID;
    if (host_abi_major != HUB_ABI_MAJOR || host_abi_minor < HUB_ABI_MINOR) return HUB_UNSUPPORTED;
    static int curl_ready = 0; /* entry runs once per dlopen, before any create */
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return HUB_INTERNAL;
        curl_ready = 1;
    }
    *out_desc = &descriptor;
    return HUB_OK;
}
