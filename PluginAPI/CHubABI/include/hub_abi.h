/*
 * hub_abi.h -- OrderHub plugin ABI, version 1.4.
 *
 * The one contract between the OrderHub host and its capability plugins (state bus,
 * rules, predictor, connectors). C99; depends on <stdint.h> and <stddef.h> only, so a
 * plugin can be written in C, Swift, Rust or anything that exports a C symbol.
 *
 * COMPATIBILITY PROMISE (enforced by the host's loader, see docs/plugin-abi.md)
 *   1. The ABI major must be equal. A plugin built for major N never loads in a host of
 *      major M != N. The entry symbol carries the major in its name (hub_plugin_entry_v1),
 *      so one library may export two majors during a transition.
 *   2. The plugin's minor must be <= the host's minor: a plugin built for 1.3 loads in a
 *      1.3, 1.4, ... host, never in a 1.2 host.
 *   3. Every struct begins with `uint32_t struct_size`. A reader reads a field only if
 *      offsetof(field) + sizeof(field) <= struct_size, and, where the field is optional,
 *      only if its capability bit is set. A version number alone is never trusted.
 *   4. Append-only: released fields are never reordered, resized, removed or given a new
 *      meaning. New fields go at the end of a struct, marked "ABI 1.x and later".
 *      Changed semantics get a new name (_v2). Layout of released fields is pinned by
 *      hub_abi_layout.c (static asserts), PluginAPI/CHubABI/abi-1.<minor>.layout (offsets of each
 *      release, a test)
 *      and PluginAPI/CHubABI/abi-releases.txt (a hash of these declarations per release).
 *   5. No enum or bool fields: fixed-width integers plus #defines.
 *
 * OWNERSHIP
 *   hub_bytes  is BORROWED: valid only for the duration of the call that passes it.
 *              Copy what you need to keep. Not NUL-terminated unless stated.
 *   hub_buf    is OWNED: whoever fills it sets `release`; whoever receives it calls
 *              `release(buf)` exactly once (when `release` is non-NULL). Each side frees
 *              memory with its own allocator.
 *   const char* fields in hub_plugin_desc are static: valid until process exit.
 *
 * ERRORS
 *   Every fallible call returns hub_status. Detail is in desc->last_error(inst) (valid until
 *   the next call on that instance) or, for create(), in the owned `out_err` buffer.
 *   Exceptions, panics and Swift errors never cross this boundary.
 */
#ifndef HUB_ABI_H
#define HUB_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versions and the entry symbol ------------------------------------------------ */

#define HUB_ABI_MAJOR 1
#define HUB_ABI_MINOR 4
/** Name of the one exported function every plugin provides (see hub_plugin_entry_v1). */
#define HUB_ENTRY_SYMBOL "hub_plugin_entry_v1"

#if defined(_WIN32)
#define HUB_EXPORT __declspec(dllexport)
#else
#define HUB_EXPORT __attribute__((visibility("default")))
#endif

/* ---- Status codes ------------------------------------------------------------------ */

typedef int32_t hub_status;
#define HUB_OK 0            /* success */
#define HUB_INVALID 1       /* bad argument or bad input (config, order, event) */
#define HUB_UNSUPPORTED 2   /* function, kind or version not provided */
#define HUB_AGAIN 3         /* temporary failure; the same call may succeed later */
#define HUB_TIMEOUT 4       /* a deadline passed */
#define HUB_NOMEM 5         /* out of memory */
#define HUB_STATE 6         /* call not allowed in the current state (e.g. quiesced) */
#define HUB_INTERNAL 7      /* a bug or an unexpected failure inside the callee */
#define HUB_NOT_FOUND 8     /* the key, order or record does not exist */
#define HUB_CONFLICT 9      /* compare-and-set lost: the revision did not match */
#define HUB_DENIED 10       /* authentication failed, e.g. a bad signature (ABI 1.2 and later) */
/* 11..0xFFFF reserved for the ABI; >= 0x10000 plugin-defined. */

/* ---- Byte views and owned buffers -------------------------------------------------- */

/** Borrowed bytes: valid only during the call that passes them. `ptr` may be NULL when
 *  `len` is 0. Text is UTF-8 and not NUL-terminated. */
typedef struct hub_bytes {
    const uint8_t *ptr;
    size_t len;
} hub_bytes;

/** Owned bytes. The producer fills all four fields; the receiver reads ptr/len and then
 *  calls `release(buf)` exactly once if `release` is non-NULL. `owner` is the producer's
 *  private pointer (an allocation handle); the receiver never touches it. A zeroed
 *  hub_buf (all NULL/0) is a valid empty buffer that needs no release. */
typedef struct hub_buf {
    uint8_t *ptr;
    size_t len;
    void (*release)(struct hub_buf *buf);
    void *owner;
} hub_buf;

/* ---- Enumerations (as #defines, stored in uint32_t) -------------------------------- */

/* Plugin kinds: which function table kind_api() returns. */
#define HUB_KIND_STATE_BUS 1
#define HUB_KIND_RULES 2
#define HUB_KIND_PREDICTOR 3
#define HUB_KIND_CONNECTOR 4

/* Threading models a plugin declares; the host enforces them.
 * SERIAL_GLOBAL: the host never calls any instance of this plugin from two threads at once.
 * SERIAL_PER_INSTANCE: one call at a time per instance; instances run in parallel.
 * THREAD_SAFE: any function may be called from any thread concurrently. */
#define HUB_THREADING_SERIAL_GLOBAL 1
#define HUB_THREADING_SERIAL_PER_INSTANCE 2
#define HUB_THREADING_THREAD_SAFE 3

/* Plugin capability bits (hub_plugin_desc.caps). An optional function is called only if
 * its bit is set AND it fits in struct_size AND it is non-NULL. */
#define HUB_CAP_HEALTH (1ull << 0)       /* health() is provided */
#define HUB_CAP_ON_EVENT (1ull << 1)     /* on_event() receives subscribed events */
#define HUB_CAP_ON_TIMER (1ull << 2)     /* on_timer() receives scheduled timers */
#define HUB_CAP_QUIESCE (1ull << 3)      /* quiesce() is provided (hot swap) */
#define HUB_CAP_STATE_EXPORT (1ull << 4) /* export_state() and import_state() (hot swap) */
#define HUB_CAP_UNLOAD_SAFE (1ull << 5)  /* the library may be dlclose'd (C/Rust only) */
#define HUB_CAP_CONTROL (1ull << 6)      /* control() answers admin commands (ABI 1.1 and later) */
#define HUB_CAP_BUS_SHARED (1ull << 7)   /* state bus: several hub nodes may share it at once; it
                                          * provides wait_commits (ABI 1.3 and later) */
/* bits 8..47 reserved for the ABI; 48..63 plugin-defined. */

/* Host capability bits (hub_host_api.caps). */
#define HUB_HOST_CAP_KV (1ull << 0)        /* kv_get/kv_put are backed by the state bus */
#define HUB_HOST_CAP_PUBSUB (1ull << 1)    /* publish/subscribe/unsubscribe work */
#define HUB_HOST_CAP_TIMERS (1ull << 2)    /* schedule() works */
#define HUB_HOST_CAP_METRICS (1ull << 3)   /* metric_define/metric_record work */
#define HUB_HOST_CAP_KV_SHARED (1ull << 4) /* the KV is shared with other hub nodes (ABI 1.4):
                                            * keep counts there, not in memory, to be exact */

/* Log levels for hub_host_api.log. */
#define HUB_LOG_TRACE 0
#define HUB_LOG_DEBUG 1
#define HUB_LOG_INFO 2
#define HUB_LOG_WARN 3
#define HUB_LOG_ERROR 4

/* Metric kinds for hub_host_api.metric_define. */
#define HUB_METRIC_COUNTER 1   /* record(v) adds v (v >= 0) */
#define HUB_METRIC_GAUGE 2     /* record(v) sets the value to v */
#define HUB_METRIC_HISTOGRAM 3 /* record(v) observes v; use seconds for latencies */

/* kv_put expect_rev values. */
#define HUB_KV_MUST_NOT_EXIST 0ull       /* create only */
#define HUB_KV_ANY_REV UINT64_MAX        /* unconditional write */

/* Order item flags (hub_order_item.flags). */
#define HUB_ITEM_PRESALE (1ull << 0)     /* item is sold before stock exists */
#define HUB_ITEM_GIFT (1ull << 1)        /* free line added by a promotion */
#define HUB_ITEM_NO_DISCOUNT (1ull << 2) /* excluded from every promotion */

/* ---- Data passed across the boundary ---------------------------------------------- */

/** One event in the hub's log. Shape follows CloudEvents 1.0; the bus renders it as
 *  structured CloudEvents JSON. All hub_bytes are borrowed for the call. */
typedef struct hub_event {
    uint32_t struct_size;      /* sizeof(hub_event) as the producer compiled it */
    uint32_t reserved0;        /* zero */
    hub_bytes id;              /* CloudEvents id, unique per source; empty = host assigns */
    hub_bytes source;          /* CloudEvents source (URI-reference); empty = host assigns */
    hub_bytes type;            /* CloudEvents type, reverse-DNS, e.g. "com.orderhub.order.accepted.v1" */
    hub_bytes subject;         /* order id the event is about; empty for hub-wide events */
    hub_bytes data;            /* payload; JSON unless datacontenttype says otherwise; may be empty */
    hub_bytes datacontenttype; /* empty means "application/json" */
    hub_bytes producer;        /* manifest slot of the plugin (or "host") that produced it */
    int64_t time_unix_ns;      /* wall-clock time the step happened, ns since 1970; 0 = host assigns */
    uint64_t sequence;         /* per-subject sequence, 1-based, gap-free; 0 = host assigns */
    hub_bytes state;           /* order state after this event; empty = state unchanged */
} hub_event;

/** An idempotency record written atomically with a batch of events (state bus only). */
typedef struct hub_idem_record {
    uint32_t struct_size;
    uint32_t reserved0;
    hub_bytes key;         /* the client's Idempotency-Key */
    hub_bytes subject;     /* order id created under that key */
    hub_bytes fingerprint; /* hash of the request body; same key + other body = conflict */
    hub_bytes response;    /* the original response body, returned on a replay */
} hub_idem_record;

/** One order line, as the host parsed it once at intake. */
typedef struct hub_order_item {
    uint32_t struct_size;
    uint32_t reserved0;
    hub_bytes sku;
    hub_bytes category;       /* may be empty */
    int64_t quantity;         /* >= 1 */
    int64_t unit_price_minor; /* price in minor units of the order currency (cents) */
    uint64_t flags;           /* HUB_ITEM_* bits */
} hub_order_item;

/** An order, parsed once by the host so plugins need not re-parse JSON. Everything is
 *  borrowed for the call. `json` carries the full canonical order for fields not lifted
 *  into this struct. Money is in minor units of `currency` (2 decimals). */
typedef struct hub_order {
    uint32_t struct_size;
    uint32_t reserved0;
    hub_bytes id;            /* hub order id */
    hub_bytes external_ref;  /* the channel's own reference */
    hub_bytes channel;       /* e.g. "web", "marketplace" */
    hub_bytes customer_id;
    hub_bytes customer_tier; /* may be empty */
    hub_bytes currency;      /* ISO 4217, e.g. "BRL" */
    hub_bytes client_ip;     /* may be empty */
    hub_bytes ship_country;  /* ISO 3166-1 alpha-2 */
    hub_bytes ship_region;   /* state/province code; may be empty */
    hub_bytes ship_postal;   /* may be empty */
    hub_bytes payment_method;
    int64_t items_total_minor;    /* sum of quantity * unit_price_minor */
    int64_t shipping_minor;       /* shipping fee quoted to the customer */
    int64_t created_unix_ms;      /* when the customer placed the order */
    int64_t promised_days;        /* promised delivery in days; -1 when unknown */
    size_t item_count;
    const hub_order_item *const *items; /* item_count pointers */
    hub_bytes json;               /* the whole order as canonical JSON */
    /* ABI 1.1 and later (read only if struct_size covers it). */
    /** What the hub knows beside the order when this call is made, as a JSON object:
     *  {"predictions": {"<slot>": {"model","version","score","quadrant",...}}} holds the
     *  answers of the predictors that ran earlier in the pipeline. Empty (len 0) when the
     *  host has nothing to add. */
    hub_bytes context_json;
} hub_order;

/* ---- Services the host gives each instance ----------------------------------------- */

/** Host services. Owned by the host, immutable, valid until the instance is destroyed.
 *  Every function takes the `hctx` handed to that instance at create: there is no global
 *  state, so two instances of one plugin are told apart. Every function is thread-safe
 *  and may be called from any thread, including threads the plugin started. */
typedef struct hub_host_api {
    uint32_t struct_size; /* sizeof(hub_host_api) as the host compiled it */
    uint16_t abi_major;
    uint16_t abi_minor;
    uint64_t caps; /* HUB_HOST_CAP_* */

    /** Log one line. level: HUB_LOG_*. The host adds the plugin slot and time. */
    void (*log)(void *hctx, int32_t level, hub_bytes message);

    /** Queue an event for the log. Empty id/source/time/sequence are filled by the host.
     *  Returns when queued (HUB_OK), not when durable: it is committed with the next group
     *  commit. Must not be called by the state bus itself. */
    hub_status (*publish)(void *hctx, const hub_event *event);

    /** Receive committed events whose type equals `type_pattern`, or starts with its prefix
     *  when the pattern ends in '*'. Deliveries go to desc->on_event (HUB_CAP_ON_EVENT),
     *  on a host thread, serialised per instance. *out_sub_id names the subscription. */
    hub_status (*subscribe)(void *hctx, hub_bytes type_pattern, uint64_t *out_sub_id);
    hub_status (*unsubscribe)(void *hctx, uint64_t sub_id);

    /** Per-plugin key-value state (namespaced by manifest slot), durable in the state bus.
     *  kv_get: HUB_NOT_FOUND if absent; *out_value is owned by the caller (release it).
     *  kv_put: writes if the current revision equals expect_rev (HUB_KV_MUST_NOT_EXIST
     *  for create, HUB_KV_ANY_REV for unconditional); HUB_CONFLICT otherwise. On success
     *  *out_new_rev is the new revision (never 0). */
    hub_status (*kv_get)(void *hctx, hub_bytes key, hub_buf *out_value, uint64_t *out_rev);
    hub_status (*kv_put)(void *hctx, hub_bytes key, hub_bytes value, uint64_t expect_rev,
                         uint64_t *out_new_rev);

    /** One value of the instance's manifest config by dotted path ("retry.max_attempts").
     *  Strings come back unquoted; numbers and booleans as their JSON text; objects and
     *  arrays as JSON. HUB_NOT_FOUND if absent. *out_value is owned by the caller. */
    hub_status (*config_get)(void *hctx, hub_bytes key, hub_buf *out_value);

    /** Define a metric (call during create). name: [a-z_][a-z0-9_]*, the host prefixes
     *  "orderhub_plugin_" and labels it with the slot. kind: HUB_METRIC_*. */
    hub_status (*metric_define)(void *hctx, hub_bytes name, int32_t metric_kind, hub_bytes help,
                                uint32_t *out_metric_id);
    /** Record a value for a defined metric. Cheap; never fails (unknown ids are ignored). */
    void (*metric_record)(void *hctx, uint32_t metric_id, double value);

    /** Monotonic clock, ns, for measuring durations. */
    uint64_t (*clock_mono_ns)(void *hctx);
    /** Wall clock, ns since 1970-01-01 UTC. */
    uint64_t (*clock_wall_ns)(void *hctx);

    /** Call desc->on_timer(inst, token) once, after delay_ns, on a host thread
     *  (HUB_CAP_ON_TIMER required). */
    hub_status (*schedule)(void *hctx, uint64_t delay_ns, uint64_t token);
} hub_host_api;

/* ---- Per-kind function tables (fetched with desc->kind_api) ------------------------ */

#define HUB_BUS_API_VERSION 1
/** State bus, version 1. Durable event log + order-state projection + KV + idempotency. */
typedef struct hub_bus_api_v1 {
    uint32_t struct_size;
    uint32_t reserved0;
    /** Append events (in order) and idempotency records in ONE transaction. Returns
     *  HUB_OK only once everything is durable. *out_last_offset = offset of the last
     *  event. Each event with a non-empty `state` updates that order's projection;
     *  sequence must be the order's current sequence + 1 (HUB_CONFLICT otherwise);
     *  a duplicate idempotency key is HUB_CONFLICT and nothing is written. */
    hub_status (*append)(void *inst, const hub_event *const *events, size_t event_count,
                         const hub_idem_record *const *records, size_t record_count,
                         uint64_t *out_last_offset);
    /** Current state and last sequence of an order. HUB_NOT_FOUND if unknown. */
    hub_status (*order_state)(void *inst, hub_bytes order_id, hub_buf *out_state,
                              uint64_t *out_sequence);
    /** The order's events, oldest first, as a JSON array of structured CloudEvents with
     *  extensions "sequence" (zero-padded decimal string), "producer" and "orderstate"
     *  (present when the event changed the state). HUB_NOT_FOUND if unknown. */
    hub_status (*timeline)(void *inst, hub_bytes order_id, hub_buf *out_json);
    /** Replay: the commit records with offset > after_offset, at most max_events records, as
     *  a JSON array [{"offset": N, "events": [CloudEvents as in timeline]}]. An offset names
     *  one stored record (one order's events of one commit). *out_next_offset is the offset
     *  to pass next time. */
    hub_status (*read_from)(void *inst, uint64_t after_offset, uint32_t max_events,
                            hub_buf *out_json, uint64_t *out_next_offset);
    /** The idempotency record for `key` as JSON {"subject","fingerprint","response"}. */
    hub_status (*idem_lookup)(void *inst, hub_bytes key, hub_buf *out_json);
    /** Up to `max` order ids currently in `state`, as a JSON array of strings, those least
     *  recently updated first (the reconciler asks about the stalest). */
    hub_status (*orders_in_state)(void *inst, hub_bytes state, uint32_t max, hub_buf *out_json);
    /** Namespaced KV behind hub_host_api.kv_get/kv_put (same semantics). */
    hub_status (*kv_get)(void *inst, hub_bytes ns, hub_bytes key, hub_buf *out_value,
                         uint64_t *out_rev);
    hub_status (*kv_put)(void *inst, hub_bytes ns, hub_bytes key, hub_bytes value,
                         uint64_t expect_rev, uint64_t *out_new_rev);
    /** Make everything durable (checkpoint); called at shutdown. */
    hub_status (*flush)(void *inst);
    /* ABI 1.3 and later (called only if struct_size covers them and they are non-NULL). */
    /** Blocks until the log's last offset is above `after_offset` or `timeout_ms` passes
     *  (0 = answer at once); *out_tail is the last offset now. Hub nodes sharing one bus
     *  (HUB_CAP_BUS_SHARED) follow each other's commits with it. Offsets must become visible
     *  in order: once a reader sees offset N, no record below N may appear later. */
    hub_status (*wait_commits)(void *inst, uint64_t after_offset, uint32_t timeout_ms,
                               uint64_t *out_tail);
    /** KV entries after (after_ns, after_key) in (ns, key) order, at most `max`, as a JSON
     *  array [{"ns","key","value_hex","rev"}] (`orderhub bus migrate` copies them). */
    hub_status (*kv_scan)(void *inst, hub_bytes after_ns, hub_bytes after_key, uint32_t max,
                          hub_buf *out_json);
    /** Idempotency records with key > after_key in key order, at most `max`, as a JSON array
     *  [{"key","subject","fingerprint","response"}]. */
    hub_status (*idem_scan)(void *inst, hub_bytes after_key, uint32_t max, hub_buf *out_json);
} hub_bus_api_v1;

#define HUB_RULES_API_VERSION 1
/** Rule engine, version 1. */
typedef struct hub_rules_api_v1 {
    uint32_t struct_size;
    uint32_t reserved0;
    /** Evaluate every rule against the order. *out_json (owned by the host) is an object:
     *  required  "discount_minor": N, "hold": {"type","reason"} | null,
     *            "fired": [{"rule","effect",...}];
     *  optional  "tags": [..], "gifts": [{"sku","quantity",...}],
     *            "route": {"warehouse",...} | null, "fulfillments": [{"group","warehouse",
     *            "lines"}], "fields": {...}, "shipping": {"service_level"} | null,
     *            "rulesets": [{"id","version"}], "skipped": [...], "errors": [...].
     *  The host carries gifts, route, fulfillments, fields and shipping into the dispatch. */
    hub_status (*evaluate)(void *inst, const hub_order *order, hub_buf *out_json);
} hub_rules_api_v1;

#define HUB_PREDICTOR_API_VERSION 1
/** Predictor, version 1. */
typedef struct hub_predictor_api_v1 {
    uint32_t struct_size;
    uint32_t reserved0;
    /** Score the order. *out_json is {"model","version","score":p,"contributions":{...}}
     *  with p a probability in [0,1]. */
    hub_status (*score)(void *inst, const hub_order *order, hub_buf *out_json);
} hub_predictor_api_v1;

#define HUB_CONNECTOR_API_VERSION 1
/** Connector to an external system (WMS, TMS, carrier), version 1. */
typedef struct hub_connector_api_v1 {
    uint32_t struct_size;
    uint32_t reserved0;
    /** Deliver one subscribed event (e.g. a dispatch request) to the external system.
     *  May block (network I/O): the host calls it on the connector's own thread.
     *  HUB_OK: accepted; *out_ack (owned by host) holds the system's reply as JSON.
     *  HUB_AGAIN / HUB_TIMEOUT: temporary failure, the host retries with backoff.
     *  HUB_INVALID: the system refused it for good; not retried.
     *  The reason is in last_error(). ABI 1.2 and later: with HUB_AGAIN or HUB_TIMEOUT
     *  *out_ack may hold {"retry_after_ms": N} (the system's Retry-After); the host then
     *  waits at least that long before the next attempt. */
    hub_status (*deliver)(void *inst, const hub_event *event, hub_buf *out_ack);

    /* ABI 1.2 and later (read only if struct_size covers it; NULL = not provided). */
    /** Check and translate one status callback the external system sent to the host's
     *  POST /v1/connectors/{slot}/events. `event` is the CloudEvent as the host parsed it
     *  (binary or structured HTTP mode; `data` is the event's data). `request_json` is
     *  {"headers": {"<lower-case name>": "<value>", ...}}; `raw_body` is the HTTP body exactly
     *  as received (what the sender signed). *out_json (owned by the host) is
     *  {"order_id": "...", "status": "<the system's status>", "state": "<lifecycle state>"
     *  or "" when the status moves no state, "exception": true|false}.
     *  HUB_DENIED: missing or wrong signature (the host answers 401 and stores nothing).
     *  HUB_INVALID: not a callback this connector understands (400). */
    hub_status (*inbound)(void *inst, const hub_event *event, hub_bytes request_json, hub_bytes raw_body,
                          hub_buf *out_json);
    /** Ask the external system for one order's current status (reconciliation). May block.
     *  context_json: {"order_id": "...", "ack": <the system's reply to the dispatch, or null>}.
     *  *out_json as for inbound (without "exception" when unknown). HUB_NOT_FOUND: the system
     *  does not know the order. HUB_AGAIN / HUB_TIMEOUT: try later. */
    hub_status (*query_status)(void *inst, hub_bytes context_json, hub_buf *out_json);
} hub_connector_api_v1;

/* ---- The descriptor ---------------------------------------------------------------- */

/** What a plugin is and how to drive it. Plugin-owned static data, valid until process
 *  exit; the host copies what it keeps. Required: struct_size, abi_*, id, version, kind,
 *  kind_api_version, threading, create, destroy, kind_api, last_error. */
typedef struct hub_plugin_desc {
    uint32_t struct_size; /* sizeof(hub_plugin_desc) as the plugin compiled it */
    uint16_t abi_major;   /* HUB_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor;   /* HUB_ABI_MINOR the plugin was built against */
    const char *id;       /* NUL-terminated, reverse-DNS, e.g. "orderhub.bus.sqlite" */
    const char *version;  /* NUL-terminated semver, e.g. "1.2.0" */
    uint32_t kind;        /* HUB_KIND_* */
    uint32_t kind_api_version; /* version of the kind table it implements (>= 1) */
    uint32_t threading;   /* HUB_THREADING_* */
    uint32_t reserved0;   /* zero */
    uint64_t caps;        /* HUB_CAP_* */

    /** Make an instance. config_json: the manifest's config for this slot as a JSON
     *  object (borrowed), with "_manifest_dir" added so relative paths can be resolved.
     *  `host` and `hctx` stay valid until destroy(inst). On failure return non-OK and
     *  put a human-readable reason in *out_err (owned by the host). */
    hub_status (*create)(const hub_host_api *host, void *hctx, hub_bytes config_json,
                         void **out_inst, hub_buf *out_err);
    /** Free the instance. No other call on it is in flight or follows. */
    void (*destroy)(void *inst);
    /** The function table for (kind, version), beginning with uint32_t struct_size; NULL
     *  if not provided. Valid until destroy(inst). */
    const void *(*kind_api)(void *inst, uint32_t kind, uint32_t version);
    /** Reason for the last failed call on this instance, NUL-terminated; valid until the
     *  next call on the instance. Never NULL (return "" when there is none). */
    const char *(*last_error)(void *inst);

    /* Optional, each gated by its HUB_CAP_* bit. */
    /** HUB_CAP_HEALTH: *out_json = {"status":"ok"|"degraded"|"down", ...}. */
    hub_status (*health)(void *inst, hub_buf *out_json);
    /** HUB_CAP_ON_EVENT: a committed event matching one of the instance's subscriptions. */
    hub_status (*on_event)(void *inst, const hub_event *event);
    /** HUB_CAP_ON_TIMER: a timer scheduled with hub_host_api.schedule fired. */
    void (*on_timer)(void *inst, uint64_t token);
    /** HUB_CAP_QUIESCE: finish in-flight work, accept no new work, by the deadline
     *  (clock_mono_ns). Hot swap calls this before export_state. */
    hub_status (*quiesce)(void *inst, uint64_t deadline_mono_ns);
    /** HUB_CAP_STATE_EXPORT: serialise the instance's state for a successor version.
     *  *out_schema names the format so an importer can refuse what it cannot read. */
    hub_status (*export_state)(void *inst, hub_buf *out_state, uint32_t *out_schema);
    /** HUB_CAP_STATE_EXPORT: take over state exported by a (possibly older) version. */
    hub_status (*import_state)(void *inst, hub_bytes state, uint32_t schema);

    /* ABI 1.1 and later (read only if struct_size covers it). */
    /** HUB_CAP_CONTROL: an admin command for this instance, e.g. a rules engine's
     *  "rulesets.publish". command: the name (UTF-8); args_json: a JSON object; *out_json
     *  (owned by the host): the answer as JSON. HUB_NOT_FOUND: no such command;
     *  HUB_INVALID: bad arguments (reason in last_error). Called from any
     *  thread under the instance's threading model like every other call (so a
     *  thread_safe plugin sees it concurrently with kind calls); may block briefly. */
    hub_status (*control)(void *inst, hub_bytes command, hub_bytes args_json, hub_buf *out_json);
} hub_plugin_desc;

/** The one exported entry point. The host passes its ABI version so the plugin can
 *  refuse (return HUB_UNSUPPORTED) or adapt; the plugin sets *out_desc to its static
 *  descriptor. Called once per dlopen, from any thread, before any create. */
typedef hub_status (*hub_plugin_entry_v1_fn)(uint16_t host_abi_major, uint16_t host_abi_minor,
                                             const hub_plugin_desc **out_desc);

/* Not declared to Swift: a Swift plugin defines it with @c(hub_plugin_entry_v1). */
#ifndef __swift__
HUB_EXPORT hub_status hub_plugin_entry_v1(uint16_t host_abi_major, uint16_t host_abi_minor,
                                          const hub_plugin_desc **out_desc);
#endif

#ifdef __cplusplus
}
#endif

#endif /* HUB_ABI_H */
