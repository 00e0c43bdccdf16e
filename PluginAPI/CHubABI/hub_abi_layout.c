/*
 * hub_abi_layout.c -- pins the layout of every released ABI 1.x field.
 *
 * Compiled into the CHubABI target, the _Static_asserts fail the build if a released field
 * moves or changes size on this platform. Compiled on its own with -DHUB_LAYOUT_PRINT, it
 * prints one line per field ("struct.field offset size"); Tests/IntegrationTests/ABILayoutTests compares that
 * output with every abi-1.<minor>.layout: every pinned line must still be there (append-only).
 */
#include "include/hub_abi.h"

#include <stddef.h>

#define HUB_FIELDS(X)                                                                      \
    X(hub_bytes, ptr) X(hub_bytes, len)                                                    \
    X(hub_buf, ptr) X(hub_buf, len) X(hub_buf, release) X(hub_buf, owner)                  \
    X(hub_event, struct_size) X(hub_event, reserved0) X(hub_event, id) X(hub_event, source) \
    X(hub_event, type) X(hub_event, subject) X(hub_event, data) X(hub_event, datacontenttype) \
    X(hub_event, producer) X(hub_event, time_unix_ns) X(hub_event, sequence) X(hub_event, state) \
    X(hub_idem_record, struct_size) X(hub_idem_record, key) X(hub_idem_record, subject)   \
    X(hub_idem_record, fingerprint) X(hub_idem_record, response)                          \
    X(hub_order_item, struct_size) X(hub_order_item, sku) X(hub_order_item, category)     \
    X(hub_order_item, quantity) X(hub_order_item, unit_price_minor) X(hub_order_item, flags) \
    X(hub_order, struct_size) X(hub_order, id) X(hub_order, external_ref) X(hub_order, channel) \
    X(hub_order, customer_id) X(hub_order, customer_tier) X(hub_order, currency)          \
    X(hub_order, client_ip) X(hub_order, ship_country) X(hub_order, ship_region)          \
    X(hub_order, ship_postal) X(hub_order, payment_method) X(hub_order, items_total_minor) \
    X(hub_order, shipping_minor) X(hub_order, created_unix_ms) X(hub_order, promised_days) \
    X(hub_order, item_count) X(hub_order, items) X(hub_order, json)                       \
    X(hub_order, context_json)                                                            \
    X(hub_host_api, struct_size) X(hub_host_api, abi_major) X(hub_host_api, abi_minor)    \
    X(hub_host_api, caps) X(hub_host_api, log) X(hub_host_api, publish)                   \
    X(hub_host_api, subscribe) X(hub_host_api, unsubscribe) X(hub_host_api, kv_get)       \
    X(hub_host_api, kv_put) X(hub_host_api, config_get) X(hub_host_api, metric_define)    \
    X(hub_host_api, metric_record) X(hub_host_api, clock_mono_ns)                         \
    X(hub_host_api, clock_wall_ns) X(hub_host_api, schedule)                              \
    X(hub_bus_api_v1, struct_size) X(hub_bus_api_v1, append) X(hub_bus_api_v1, order_state) \
    X(hub_bus_api_v1, timeline) X(hub_bus_api_v1, read_from) X(hub_bus_api_v1, idem_lookup) \
    X(hub_bus_api_v1, orders_in_state) X(hub_bus_api_v1, kv_get) X(hub_bus_api_v1, kv_put) \
    X(hub_bus_api_v1, flush) X(hub_bus_api_v1, wait_commits) X(hub_bus_api_v1, kv_scan)   \
    X(hub_bus_api_v1, idem_scan)                                                          \
    X(hub_rules_api_v1, struct_size) X(hub_rules_api_v1, evaluate)                        \
    X(hub_predictor_api_v1, struct_size) X(hub_predictor_api_v1, score)                   \
    X(hub_connector_api_v1, struct_size) X(hub_connector_api_v1, deliver)                 \
    X(hub_connector_api_v1, inbound) X(hub_connector_api_v1, query_status)                \
    X(hub_plugin_desc, struct_size) X(hub_plugin_desc, abi_major) X(hub_plugin_desc, abi_minor) \
    X(hub_plugin_desc, id) X(hub_plugin_desc, version) X(hub_plugin_desc, kind)           \
    X(hub_plugin_desc, kind_api_version) X(hub_plugin_desc, threading)                    \
    X(hub_plugin_desc, reserved0) X(hub_plugin_desc, caps) X(hub_plugin_desc, create)     \
    X(hub_plugin_desc, destroy) X(hub_plugin_desc, kind_api) X(hub_plugin_desc, last_error) \
    X(hub_plugin_desc, health) X(hub_plugin_desc, on_event) X(hub_plugin_desc, on_timer)  \
    X(hub_plugin_desc, quiesce) X(hub_plugin_desc, export_state) X(hub_plugin_desc, import_state) \
    X(hub_plugin_desc, control)

/* Every struct with a size field starts with it. */
_Static_assert(offsetof(hub_event, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(hub_idem_record, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(hub_order_item, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(hub_order, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(hub_host_api, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(hub_bus_api_v1, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(hub_rules_api_v1, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(hub_predictor_api_v1, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(hub_connector_api_v1, struct_size) == 0, "struct_size first");
_Static_assert(offsetof(hub_plugin_desc, struct_size) == 0, "struct_size first");

#if defined(__x86_64__) || defined(__aarch64__)
/* Released 1.0 offsets on LP64 (the platforms we ship). Moving any of these breaks every
 * plugin built against 1.0. */
_Static_assert(sizeof(hub_bytes) == 16, "hub_bytes is 16 bytes");
/* Released 1.2 offsets: the connector functions appended for callbacks and status queries. */
_Static_assert(offsetof(hub_connector_api_v1, inbound) == 16, "hub_connector_api_v1.inbound");
_Static_assert(offsetof(hub_connector_api_v1, query_status) == 24, "hub_connector_api_v1.query_status");
_Static_assert(sizeof(hub_buf) == 32, "hub_buf is 32 bytes");
/* Released 1.3 offsets: the bus functions appended for shared buses and migration. */
_Static_assert(offsetof(hub_bus_api_v1, wait_commits) == 80, "hub_bus_api_v1.wait_commits");
_Static_assert(offsetof(hub_bus_api_v1, idem_scan) == 96, "hub_bus_api_v1.idem_scan");
_Static_assert(offsetof(hub_event, id) == 8, "hub_event.id");
_Static_assert(offsetof(hub_event, time_unix_ns) == 120, "hub_event.time_unix_ns");
_Static_assert(offsetof(hub_event, state) == 136, "hub_event.state");
_Static_assert(sizeof(hub_event) == 152, "hub_event 1.0 size");
_Static_assert(offsetof(hub_order, items_total_minor) == 184, "hub_order.items_total_minor");
_Static_assert(offsetof(hub_order, json) == 232, "hub_order.json");
_Static_assert(offsetof(hub_host_api, log) == 16, "hub_host_api.log");
_Static_assert(offsetof(hub_host_api, schedule) == 104, "hub_host_api.schedule");
_Static_assert(offsetof(hub_plugin_desc, id) == 8, "hub_plugin_desc.id");
_Static_assert(offsetof(hub_plugin_desc, caps) == 40, "hub_plugin_desc.caps");
_Static_assert(offsetof(hub_plugin_desc, create) == 48, "hub_plugin_desc.create");
_Static_assert(offsetof(hub_plugin_desc, last_error) == 72, "hub_plugin_desc.last_error");
/* ABI 1.1 appended fields exactly where 1.0 structs ended. */
_Static_assert(offsetof(hub_plugin_desc, control) == 128, "hub_plugin_desc 1.0 size was 128");
_Static_assert(offsetof(hub_order, context_json) == 248, "hub_order 1.0 size was 248");
#endif

#ifdef HUB_LAYOUT_PRINT
#include <stdio.h>
#define HUB_PRINT_FIELD(type, field)                                                       \
    printf("%s.%s %zu %zu\n", #type, #field, offsetof(type, field), sizeof(((type *)0)->field));
int main(void) {
    HUB_FIELDS(HUB_PRINT_FIELD)
    return 0;
}
#else
/* Keeps the target non-empty for SwiftPM; nothing else lives here. */
__attribute__((visibility("hidden"))) int hub_abi_layout_anchor(void);
__attribute__((visibility("hidden"))) int hub_abi_layout_anchor(void) { return HUB_ABI_MAJOR; }
#endif
