/* hc_json.c -- JSON DOM: tree, constructors, accessors, path lookup, writer. The parser is in
 * hc_json_parse.c and uses only the public constructors. */
#include "hc_json.h"

#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hc_member {
    char *key; /* owned, NUL-terminated; NULL for array elements */
    size_t klen;
    hc_json *value;
} hc_member;

struct hc_json {
    hc_type type;
    int line, col;
    int boolean;
    double number;
    char *text;     /* owned: number raw text, or decoded string (NUL-terminated) */
    size_t tlen;
    hc_member *items; /* owned: array elements or object members, in source order */
    size_t count, cap;
};

/* ---- constructors and tree management ---- */

static hc_json *hc_node(hc_type type) {
    hc_json *n = calloc(1, sizeof *n);
    if (n != NULL) n->type = type;
    return n;
}

static char *hc_dup(const char *s, size_t len) {
    char *p = malloc(len + 1);
    if (p == NULL) return NULL;
    if (len > 0) memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void hc_json_free(hc_json *node) {
    size_t i;
    if (node == NULL) return;
    for (i = 0; i < node->count; i++) {
        free(node->items[i].key);
        hc_json_free(node->items[i].value);
    }
    free(node->items);
    free(node->text);
    free(node);
}

hc_json *hc_json_new_null(void) { return hc_node(HC_NULL); }

hc_json *hc_json_new_bool(int value) {
    hc_json *n = hc_node(HC_BOOL);
    if (n != NULL) n->boolean = value != 0;
    return n;
}

hc_json *hc_json_new_string(const char *s, size_t len) {
    hc_json *n = hc_node(HC_STRING);
    if (n == NULL) return NULL;
    n->text = hc_dup(s, len);
    if (n->text == NULL) {
        free(n);
        return NULL;
    }
    n->tlen = len;
    return n;
}

hc_json *hc_json_new_array(void) { return hc_node(HC_ARRAY); }
hc_json *hc_json_new_object(void) { return hc_node(HC_OBJECT); }

/* Length of the JSON number (RFC 8259 section 6) at s, or 0 if there is none. */
static size_t hc_scan_number(const char *s, size_t len) {
    size_t i = 0, d;
    if (i < len && s[i] == '-') i++;
    if (i < len && s[i] == '0') {
        i++;
    } else {
        for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++) {}
        if (i == d) return 0;
    }
    if (i < len && s[i] == '.') {
        for (d = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++) {}
        if (i == d) return 0;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++) {}
        if (i == d) return 0;
    }
    return i;
}

/* strtod follows LC_NUMERIC, and the host may have set a locale whose decimal point is ','. */
static double hc_to_double(const char *raw, size_t len) {
    char tmp[64];
    const char *dp = localeconv()->decimal_point;
    size_t i;
    if (len >= sizeof tmp) len = sizeof tmp - 1; /* digits past 63 do not change a double much */
    memcpy(tmp, raw, len);
    tmp[len] = '\0';
    for (i = 0; i < len; i++) {
        if (tmp[i] == '.' && dp != NULL && dp[0] != '\0') tmp[i] = dp[0];
    }
    return strtod(tmp, NULL);
}

static hc_json *hc_number_n(const char *raw, size_t len) {
    hc_json *n = hc_node(HC_NUMBER);
    if (n == NULL) return NULL;
    n->text = hc_dup(raw, len);
    if (n->text == NULL) {
        free(n);
        return NULL;
    }
    n->tlen = len;
    n->number = hc_to_double(raw, len);
    return n;
}

hc_json *hc_json_new_number_n(const char *raw, size_t len) {
    if (raw == NULL || len == 0 || hc_scan_number(raw, len) != len) return NULL;
    return hc_number_n(raw, len);
}

hc_json *hc_json_new_number_raw(const char *raw) {
    return hc_json_new_number_n(raw, raw != NULL ? strlen(raw) : 0);
}

void hc_json_set_pos(hc_json *node, int line, int col) {
    if (node == NULL) return;
    node->line = line;
    node->col = col;
}

/* Append a member; `key` (owned) is NULL for arrays. Frees key and child on failure. */
static int hc_push(hc_json *parent, char *key, size_t klen, hc_json *child) {
    if (parent->count == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        hc_member *p = realloc(parent->items, cap * sizeof *p);
        if (p == NULL) {
            free(key);
            hc_json_free(child);
            return 0;
        }
        parent->items = p;
        parent->cap = cap;
    }
    parent->items[parent->count].key = key;
    parent->items[parent->count].klen = klen;
    parent->items[parent->count].value = child;
    parent->count++;
    return 1;
}

int hc_json_append(hc_json *array, hc_json *child) {
    if (child == NULL) return 0;
    if (array == NULL || array->type != HC_ARRAY) {
        hc_json_free(child);
        return 0;
    }
    return hc_push(array, NULL, 0, child);
}

int hc_json_add(hc_json *object, const char *key, size_t klen, hc_json *child) {
    char *k;
    if (child == NULL) return 0;
    if (object == NULL || object->type != HC_OBJECT || key == NULL || (k = hc_dup(key, klen)) == NULL) {
        hc_json_free(child);
        return 0;
    }
    return hc_push(object, k, klen, child);
}

int hc_json_set(hc_json *object, const char *key, hc_json *child) {
    size_t i, klen;
    char *k;
    if (child == NULL) return 0;
    if (object == NULL || object->type != HC_OBJECT || key == NULL) {
        hc_json_free(child);
        return 0;
    }
    klen = strlen(key);
    for (i = 0; i < object->count; i++) {
        if (object->items[i].klen == klen && memcmp(object->items[i].key, key, klen) == 0) {
            hc_json_free(object->items[i].value);
            object->items[i].value = child;
            return 1;
        }
    }
    k = hc_dup(key, klen);
    if (k == NULL) {
        hc_json_free(child);
        return 0;
    }
    return hc_push(object, k, klen, child);
}

hc_json *hc_json_clone(const hc_json *node) {
    hc_json *n;
    size_t i;
    if (node == NULL) return NULL;
    n = hc_node(node->type);
    if (n == NULL) return NULL;
    n->line = node->line;
    n->col = node->col;
    n->boolean = node->boolean;
    n->number = node->number;
    n->tlen = node->tlen;
    if (node->text != NULL && (n->text = hc_dup(node->text, node->tlen)) == NULL) goto fail;
    for (i = 0; i < node->count; i++) {
        const hc_member *m = &node->items[i];
        char *k = NULL;
        hc_json *v = hc_json_clone(m->value);
        if (v == NULL) goto fail;
        if (m->key != NULL && (k = hc_dup(m->key, m->klen)) == NULL) {
            hc_json_free(v);
            goto fail;
        }
        if (!hc_push(n, k, m->klen, v)) goto fail;
    }
    return n;
fail:
    hc_json_free(n);
    return NULL;
}

/* ---- accessors ---- */

hc_type hc_json_type(const hc_json *node) { return node != NULL ? node->type : HC_NULL; }
int hc_json_bool(const hc_json *node) { return node != NULL && node->type == HC_BOOL && node->boolean; }
double hc_json_number(const hc_json *node) {
    return node != NULL && node->type == HC_NUMBER ? node->number : 0.0;
}
const char *hc_json_number_raw(const hc_json *node) {
    return node != NULL && node->type == HC_NUMBER ? node->text : NULL;
}
const char *hc_json_string(const hc_json *node, size_t *len) {
    if (node == NULL || node->type != HC_STRING) return NULL;
    if (len != NULL) *len = node->tlen;
    return node->text;
}
size_t hc_json_count(const hc_json *node) {
    return node != NULL && (node->type == HC_ARRAY || node->type == HC_OBJECT) ? node->count : 0;
}
hc_json *hc_json_at(const hc_json *node, size_t i) {
    return i < hc_json_count(node) ? node->items[i].value : NULL;
}
const char *hc_json_key_at(const hc_json *node, size_t i) {
    return hc_json_type(node) == HC_OBJECT && i < node->count ? node->items[i].key : NULL;
}
int hc_json_line(const hc_json *node) { return node != NULL ? node->line : 0; }
int hc_json_col(const hc_json *node) { return node != NULL ? node->col : 0; }

hc_json *hc_json_get_n(const hc_json *object, const char *key, size_t klen) {
    size_t i;
    if (hc_json_type(object) != HC_OBJECT) return NULL;
    for (i = 0; i < object->count; i++) {
        const hc_member *m = &object->items[i];
        if (m->klen == klen && memcmp(m->key, key, klen) == 0) return m->value;
    }
    return NULL;
}

hc_json *hc_json_get(const hc_json *object, const char *key) {
    return key != NULL ? hc_json_get_n(object, key, strlen(key)) : NULL;
}

/* One path step into an array: the segment must be all decimal digits. */
static hc_json *hc_index(const hc_json *array, const char *seg, size_t len) {
    size_t i, idx = 0;
    if (len == 0) return NULL;
    for (i = 0; i < len; i++) {
        if (seg[i] < '0' || seg[i] > '9') return NULL;
        if (idx > ((size_t)-1 - 9) / 10) return NULL; /* would overflow: surely out of range */
        idx = idx * 10 + (size_t)(seg[i] - '0');
    }
    return hc_json_at(array, idx);
}

hc_json *hc_json_path_n(const hc_json *root, const char *path, size_t len) {
    const hc_json *cur = root;
    size_t start = 0;
    if (len == 0) return (hc_json *)root;
    while (cur != NULL) {
        size_t end = start;
        while (end < len && path[end] != '.') end++;
        if (cur->type == HC_OBJECT) {
            cur = hc_json_get_n(cur, path + start, end - start);
        } else if (cur->type == HC_ARRAY) {
            cur = hc_index(cur, path + start, end - start);
        } else {
            return NULL;
        }
        if (end >= len) break;
        start = end + 1;
    }
    return (hc_json *)cur;
}

hc_json *hc_json_path(const hc_json *root, const char *path) {
    return hc_json_path_n(root, path != NULL ? path : "", path != NULL ? strlen(path) : 0);
}

/* ---- writer ---- */

void hc_json_write_string(hc_buf *out, const char *s, size_t len) {
    size_t i, run = 0; /* copy unescaped runs in one append */
    hc_buf_append(out, "\"", 1);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        hc_buf_append(out, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default: hc_buf_printf(out, "\\u%04x", (unsigned)c); break;
        }
        if (esc != NULL) hc_buf_puts(out, esc);
    }
    hc_buf_append(out, s + run, len - run);
    hc_buf_append(out, "\"", 1);
}

void hc_json_write(hc_buf *out, const hc_json *node) {
    size_t i;
    switch (hc_json_type(node)) {
    case HC_NULL: hc_buf_puts(out, "null"); return;
    case HC_BOOL: hc_buf_puts(out, node->boolean ? "true" : "false"); return;
    case HC_NUMBER: hc_buf_append(out, node->text, node->tlen); return;
    case HC_STRING: hc_json_write_string(out, node->text, node->tlen); return;
    case HC_ARRAY:
    case HC_OBJECT: break;
    }
    hc_buf_append(out, node->type == HC_ARRAY ? "[" : "{", 1);
    for (i = 0; i < node->count; i++) {
        if (i > 0) hc_buf_append(out, ",", 1);
        if (node->type == HC_OBJECT) {
            hc_json_write_string(out, node->items[i].key, node->items[i].klen);
            hc_buf_append(out, ":", 1);
        }
        hc_json_write(out, node->items[i].value);
    }
    hc_buf_append(out, node->type == HC_ARRAY ? "]" : "}", 1);
}

int hc_json_text(const hc_json *node, hc_buf *out) {
    switch (hc_json_type(node)) {
    case HC_NULL: hc_buf_append(out, "", 0); break;
    case HC_STRING: hc_buf_append(out, node->text, node->tlen); break;
    default: hc_json_write(out, node); break;
    }
    return !out->failed;
}
