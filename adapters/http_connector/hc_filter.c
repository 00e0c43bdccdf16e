/* hc_filter.c -- the template filters; see hc_filter.h and hc_template.h. */
#include "hc_filter.h"

#include <stdio.h>
#include <string.h>

#include "hc_crypto.h"
#include "hc_format.h"

#define HC_SNIPPET_MAX 60 /* bytes of a value quoted in an error message */

/* Indexed by hc_filter_id; `arg` is 1 when the filter requires NAME:ARG. */
static const struct {
    const char *name;
    int arg;
} hc_filters[HC_FILTER_COUNT_] = {
    {"money", 0}, {"money_number", 0}, {"number", 0}, {"string", 0}, {"upper", 0},
    {"lower", 0}, {"default", 1},      {"map", 1},    {"url", 0},    {"json", 0},
    {"optional", 0}, {"first", 0},     {"count", 0},  {"iso_time", 0},
};

/* Where a filter finds maps and reports errors. */
typedef struct hc_fctx {
    const hc_json *maps;
    char *err;
    size_t errcap;
} hc_fctx;

/* One filter with its argument (a slice of the template). */
typedef struct hc_fcall {
    int kind;
    const char *arg;
    size_t arglen;
} hc_fcall;

static int hc_is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t hc_skip_ws(const char *s, size_t len, size_t i) {
    while (i < len && hc_is_ws(s[i])) i++;
    return i;
}

/* Render error naming the offending value (as JSON, shortened). Frees v; returns NULL. */
static hc_json *hc_bad_value(hc_fctx *c, hc_json *v, int kind, const char *need) {
    hc_buf b = {0};
    int shown;
    hc_json_write(&b, v);
    shown = b.len > HC_SNIPPET_MAX ? HC_SNIPPET_MAX : (int)b.len;
    if (c->errcap > 0 && !b.failed) {
        snprintf(c->err, c->errcap, "filter '%s' %s, got %.*s%s", hc_filters[kind].name, need, shown, b.data,
                 b.len > HC_SNIPPET_MAX ? "..." : "");
    }
    hc_buf_free(&b);
    hc_json_free(v);
    return NULL;
}

/* The value's text as a string node, optionally transformed (string, upper, lower, url, json). */
static hc_json *hc_text_filter(const hc_json *v, int kind) {
    hc_buf b = {0}, enc = {0};
    hc_json *r = NULL;
    size_t i;
    if (kind == HC_FILTER_JSON) {
        hc_json_write(&b, v);
    } else {
        hc_json_text(v, &b);
    }
    if (kind == HC_FILTER_URL) {
        hc_url_encode(b.data != NULL ? b.data : "", b.len, &enc);
        hc_buf_free(&b);
        b = enc;
    }
    for (i = 0; i < b.len; i++) {
        if (kind == HC_FILTER_UPPER && b.data[i] >= 'a' && b.data[i] <= 'z') b.data[i] = (char)(b.data[i] - 'a' + 'A');
        if (kind == HC_FILTER_LOWER && b.data[i] >= 'A' && b.data[i] <= 'Z') b.data[i] = (char)(b.data[i] - 'A' + 'a');
    }
    if (!b.failed) r = hc_json_new_string(b.data != NULL ? b.data : "", b.len);
    hc_buf_free(&b);
    return r;
}

static hc_json *hc_money(hc_fctx *c, int kind, hc_json *v) {
    hc_buf in = {0}, out = {0};
    hc_json *r = NULL;
    hc_type t = hc_json_type(v);
    int ok = (t == HC_NUMBER || t == HC_STRING) && hc_json_text(v, &in) &&
             hc_format_money(in.data != NULL ? in.data : "", in.len, &out);
    if (!ok && !in.failed) return hc_buf_free(&in), hc_bad_value(c, v, kind, "needs integer minor units");
    if (ok && !out.failed) {
        r = kind == HC_FILTER_MONEY ? hc_json_new_string(out.data, out.len) : hc_json_new_number_raw(out.data);
    }
    hc_buf_free(&in);
    hc_buf_free(&out);
    hc_json_free(v);
    return r;
}

static hc_json *hc_to_number(hc_fctx *c, hc_json *v) {
    size_t n = 0, i;
    const char *s = hc_json_string(v, &n);
    hc_json *r;
    if (hc_json_type(v) == HC_NUMBER) return v;
    if (s == NULL) return hc_bad_value(c, v, HC_FILTER_NUMBER, "needs a number or numeric string");
    i = hc_skip_ws(s, n, 0);
    while (n > i && hc_is_ws(s[n - 1])) n--;
    r = hc_json_new_number_n(s + i, n - i);
    if (r == NULL) return hc_bad_value(c, v, HC_FILTER_NUMBER, "needs a number or numeric string");
    hc_json_free(v);
    return r;
}

static hc_json *hc_iso_time(hc_fctx *c, hc_json *v) {
    hc_buf b = {0};
    hc_json *r = NULL;
    if (hc_json_type(v) != HC_NUMBER || !hc_format_iso_time(hc_json_number(v), &b)) {
        return hc_bad_value(c, v, HC_FILTER_ISO_TIME, "needs milliseconds since the epoch (years 0000-9999)");
    }
    if (!b.failed) r = hc_json_new_string(b.data, b.len);
    hc_buf_free(&b);
    hc_json_free(v);
    return r;
}

static hc_json *hc_map(hc_fctx *c, const hc_fcall *f, hc_json *v) {
    const hc_json *map = hc_json_get_n(c->maps, f->arg, f->arglen), *hit;
    hc_buf key = {0};
    hc_json *r = NULL;
    if (hc_json_type(map) != HC_OBJECT) {
        if (c->errcap > 0) snprintf(c->err, c->errcap, "unknown map '%.*s'", (int)f->arglen, f->arg);
        return hc_json_free(v), NULL;
    }
    if (hc_json_type(v) == HC_ARRAY || hc_json_type(v) == HC_OBJECT) {
        return hc_bad_value(c, v, HC_FILTER_MAP, "needs a scalar");
    }
    if (hc_json_text(v, &key)) {
        hit = hc_json_get_n(map, key.data != NULL ? key.data : "", key.len);
        if (hit == NULL) hit = hc_json_get_n(map, "*", 1);
        if (hit != NULL) {
            r = hc_json_clone(hit);
        } else if (c->errcap > 0) {
            snprintf(c->err, c->errcap, "map %.*s has no entry for '%.*s'", (int)f->arglen, f->arg,
                     key.len > HC_SNIPPET_MAX ? HC_SNIPPET_MAX : (int)key.len, key.data != NULL ? key.data : "");
        }
    }
    hc_buf_free(&key);
    hc_json_free(v);
    return r;
}

static hc_json *hc_default(const hc_fcall *f, hc_json *v) {
    size_t n = 1;
    hc_json *r;
    hc_json_string(v, &n);
    if (hc_json_type(v) != HC_NULL && n > 0) return v;
    hc_json_free(v);
    r = hc_json_parse(f->arg, f->arglen, NULL, 0);
    return r != NULL ? r : hc_json_new_string(f->arg, f->arglen);
}

/* Apply one filter. Consumes v; returns the new value, or NULL (err set unless out of memory). */
static hc_json *hc_apply(hc_fctx *c, const hc_fcall *f, hc_json *v) {
    hc_type t = hc_json_type(v);
    hc_json *r = NULL;
    char num[32];
    /* null passes through most filters, so `| optional` and `| default:` still see it */
    if (t == HC_NULL && f->kind != HC_FILTER_STRING && f->kind != HC_FILTER_JSON && f->kind != HC_FILTER_COUNT &&
        f->kind != HC_FILTER_DEFAULT) {
        return v;
    }
    switch (f->kind) {
    case HC_FILTER_OPTIONAL: return v;
    case HC_FILTER_DEFAULT: return hc_default(f, v);
    case HC_FILTER_MAP: return hc_map(c, f, v);
    case HC_FILTER_NUMBER: return hc_to_number(c, v);
    case HC_FILTER_MONEY:
    case HC_FILTER_MONEY_NUMBER: return hc_money(c, f->kind, v);
    case HC_FILTER_ISO_TIME: return t == HC_STRING ? v : hc_iso_time(c, v);
    case HC_FILTER_FIRST:
        r = t == HC_ARRAY && hc_json_count(v) > 0 ? hc_json_clone(hc_json_at(v, 0)) : hc_json_new_null();
        break;
    case HC_FILTER_COUNT:
        snprintf(num, sizeof num, "%lu", (unsigned long)(t == HC_ARRAY ? hc_json_count(v) : 0));
        r = hc_json_new_number_raw(num);
        break;
    default: r = hc_text_filter(v, f->kind); break; /* string, upper, lower, url, json */
    }
    hc_json_free(v);
    return r;
}

int hc_filter_find(const char *name, size_t len) {
    int k;
    for (k = 0; k < HC_FILTER_COUNT_; k++) {
        if (strlen(hc_filters[k].name) == len && memcmp(hc_filters[k].name, name, len) == 0) return k;
    }
    return -1;
}

const char *hc_filter_name(int id) { return id >= 0 && id < HC_FILTER_COUNT_ ? hc_filters[id].name : NULL; }

int hc_filter_needs_arg(int id) { return id >= 0 && id < HC_FILTER_COUNT_ && hc_filters[id].arg; }

hc_json *hc_filter_apply(int id, const char *arg, size_t arglen, hc_json *value, const hc_json *maps, char *err,
                         size_t errcap) {
    hc_fctx c;
    hc_fcall f;
    hc_json *r;
    c.maps = maps;
    c.err = err;
    c.errcap = err != NULL ? errcap : 0;
    f.kind = id;
    f.arg = arg != NULL ? arg : "";
    f.arglen = arg != NULL ? arglen : 0;
    if (c.errcap > 0) err[0] = '\0';
    if (hc_filter_name(id) == NULL) {
        if (c.errcap > 0) snprintf(err, errcap, "unknown filter %d", id);
        hc_json_free(value);
        return NULL;
    }
    r = hc_apply(&c, &f, value);
    if (r == NULL && c.errcap > 0 && err[0] == '\0') snprintf(err, errcap, "out of memory");
    return r;
}
