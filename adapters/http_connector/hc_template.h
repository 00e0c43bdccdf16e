/*
 * hc_template.h -- JSON templates for the HTTP connector: a vendor profile describes the
 * request body as JSON whose strings may hold {{ path | filter | ... }} expressions,
 * rendered against named roots (scopes) such as the order event.
 *
 *   {"id": "{{ order.id }}",                     exact expression: keeps the value's type
 *    "note": "Order {{ order.id | upper }}",     text with expressions: always a string
 *    "total": "{{ order.total_minor | money }}", "123.45"
 *    "gift": "{{ order.gift | optional }}",      member left out when the value is null
 *    "lines": {"$each": "order.items", "$as": "line",
 *              "$render": {"sku": "{{ line.sku | map:skus }}"}}}
 *
 * A path's first segment names a scope; the rest is looked up with hc_json_path. A missing
 * value (or unknown scope) renders as null. Filters (hc_filter.h) apply left to right:
 *   money, money_number  integer minor units (number or numeric string) to "123.45" / 123.45
 *   number               string or number to a number (error if it does not parse)
 *   string               any value to its text (hc_json_text) as a string
 *   upper, lower         ASCII case mapping of the text
 *   default:LITERAL      replaces null or "" with LITERAL, parsed as JSON if it is JSON
 *                        (default:0, default:"x", default:true), else taken as plain text
 *   map:NAME             maps[NAME][text], else maps[NAME]["*"], else a render error
 *   url                  RFC 3986 percent-encoding of the text
 *   json                 the value's compact JSON, as a string
 *   optional             identity; an object member whose value is one expression ending in
 *                        `| optional` is omitted when it renders to null (must come last)
 *   first, count         first element of an array (else null); array length (else 0)
 *   iso_time             ms since the epoch to "YYYY-MM-DDTHH:MM:SSZ" (strings pass through)
 * Except string, json, count and default, filters pass null through unchanged.
 * An unquoted LITERAL runs to the next '|' or '}}'; quote it ("a|b") to include those.
 *
 * Maps are an hc_json object of objects: {"skus": {"A-1": "100234", "*": "UNKNOWN"}}.
 * No global state; rendering only reads the template, scopes and maps.
 */
#ifndef HC_TEMPLATE_H
#define HC_TEMPLATE_H

#include <stddef.h>

#include "hc_buf.h"
#include "hc_json.h"

/* A named root for paths: "order.id" looks up "id" in the scope named "order". Borrowed. */
typedef struct hc_scope {
    const char *name;
    const hc_json *value;
} hc_scope;

/* Validate a template at load time: every {{ ... }} parses, every filter is known and has
 * the arguments it needs, every map:NAME names an object in maps (which may be NULL), and
 * every $each object is well formed. On error writes "LINE:COL: message" (the position of
 * the offending template node) into err and returns 0; returns 1 when valid. */
int hc_template_check(const hc_json *tmpl, const hc_json *maps, char *err, size_t errcap);
/* The same for a string template (URL path, header value); messages carry no position. */
int hc_template_check_text(const char *tmpl, const hc_json *maps, char *err, size_t errcap);

/* Render tmpl to a new tree (the caller frees it with hc_json_free). Returns NULL and writes
 * a message into err on a render error (bad value for a filter, missing map entry, ...). */
hc_json *hc_template_render(const hc_json *tmpl, const hc_scope *scopes, size_t nscopes,
                            const hc_json *maps, char *err, size_t errcap);
/* Render a string template to text appended to out (each value as hc_json_text; null as
 * nothing). Returns 1, or 0 with a message in err. */
int hc_template_render_text(const char *tmpl, const hc_scope *scopes, size_t nscopes,
                            const hc_json *maps, hc_buf *out, char *err, size_t errcap);

#endif
