/*
 * hc_filter.h -- the filters of hc_template ({{ value | money }}), usable on their own to
 * transform a JSON value. hc_template.h lists what each filter does. No global state.
 */
#ifndef HC_FILTER_H
#define HC_FILTER_H

#include <stddef.h>

#include "hc_json.h"

/* Filter ids, in the order of the filter table. */
typedef enum {
    HC_FILTER_MONEY, HC_FILTER_MONEY_NUMBER, HC_FILTER_NUMBER, HC_FILTER_STRING, HC_FILTER_UPPER,
    HC_FILTER_LOWER, HC_FILTER_DEFAULT, HC_FILTER_MAP, HC_FILTER_URL, HC_FILTER_JSON, HC_FILTER_OPTIONAL,
    HC_FILTER_FIRST, HC_FILTER_COUNT, HC_FILTER_ISO_TIME,
    HC_FILTER_COUNT_ /* number of filters, not a filter */
} hc_filter_id;

/* The id of the filter named name[0..len), or -1. */
int hc_filter_find(const char *name, size_t len);
/* The filter's name, or NULL for an invalid id. */
const char *hc_filter_name(int id);
/* 1 if the filter requires an argument (default:LITERAL, map:NAME). */
int hc_filter_needs_arg(int id);
/* Apply filter id with argument arg[0..arglen) (NULL when none) to value, which it takes
 * ownership of. maps (may be NULL) is consulted by map:NAME. Returns the new value (caller
 * frees), or NULL with a message in err. */
hc_json *hc_filter_apply(int id, const char *arg, size_t arglen, hc_json *value, const hc_json *maps, char *err,
                         size_t errcap);

#endif
