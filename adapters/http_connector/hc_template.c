/* hc_template.c -- JSON templates with {{ path | filter }} expressions; see hc_template.h. */
#include "hc_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_filter.h"

#define HC_MAX_FILTERS 16
#define HC_SNIPPET_MAX 60 /* bytes of template quoted in an error message */

typedef struct hc_filter {
    int kind;        /* hc_filter_id */
    const char *arg; /* slice of the template; quotes kept for a quoted literal */
    size_t arglen;
} hc_filter;

/* One parsed {{ ... }}; every pointer is a slice of the template string. */
typedef struct hc_expr {
    size_t open; /* index of the "{{" */
    const char *path;
    size_t pathlen;
    hc_filter f[HC_MAX_FILTERS];
    size_t nf;
} hc_expr;

/* Render state: the scopes in force (innermost last) and where errors go. */
typedef struct hc_ctx {
    const hc_scope *scopes;
    size_t nscopes;
    const hc_json *maps;
    char *err;
    size_t errcap;
} hc_ctx;

static int hc_is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t hc_skip_ws(const char *s, size_t len, size_t i) {
    while (i < len && hc_is_ws(s[i])) i++;
    return i;
}

/* Index of the next "{{" at or after i, or len. */
static size_t hc_find_open(const char *s, size_t len, size_t i) {
    for (; i + 1 < len; i++) {
        if (s[i] == '{' && s[i + 1] == '{') return i;
    }
    return len;
}

static int hc_at_close(const char *s, size_t len, size_t i) {
    return i + 1 < len && s[i] == '}' && s[i + 1] == '}';
}

static void hc_set_err(char *err, size_t errcap, const char *msg) {
    if (errcap > 0) snprintf(err, errcap, "%s", msg);
}

/* ---- expression syntax ---- */

/* Append ` in "{{ ... }}"` (the expression starting at `open`, shortened) to msg. */
static void hc_add_snippet(char *msg, size_t cap, const char *s, size_t len, size_t open) {
    size_t end = open + 2, used = strlen(msg);
    while (end < len && !hc_at_close(s, len, end)) end++;
    end = end < len ? end + 2 : len;
    if (used >= cap) return;
    if (end - open > HC_SNIPPET_MAX) {
        snprintf(msg + used, cap - used, " in \"%.*s...\"", HC_SNIPPET_MAX, s + open);
    } else {
        snprintf(msg + used, cap - used, " in \"%.*s\"", (int)(end - open), s + open);
    }
}

/* Paths are dot-separated non-empty segments: "order.items.0.sku". */
static int hc_valid_path(const char *p, size_t n) {
    size_t i;
    if (n == 0 || p[0] == '.' || p[n - 1] == '.') return 0;
    for (i = 0; i + 1 < n; i++) {
        if (p[i] == '.' && p[i + 1] == '.') return 0;
    }
    return 1;
}

/* A filter argument at i (after ':'): a quoted JSON string, or text up to '|' or '}}'. */
static size_t hc_scan_arg(const char *s, size_t len, size_t i, hc_filter *f) {
    size_t start = i;
    if (i < len && s[i] == '"') {
        for (i++; i < len && s[i] != '"'; i++) {
            if (s[i] == '\\') i++;
        }
        if (i >= len) return len; /* unterminated: the caller reports the open '{{' */
        i++;
    } else {
        while (i < len && s[i] != '|' && !hc_at_close(s, len, i)) i++;
    }
    f->arg = s + start;
    f->arglen = i - start;
    while (f->arglen > 0 && hc_is_ws(f->arg[f->arglen - 1])) f->arglen--;
    return i;
}

/* One `| name[:arg]` at i (just after '|'); returns the index after it, or 0 with msg set. */
static size_t hc_parse_filter(const char *s, size_t len, size_t i, hc_filter *f, char *msg, size_t cap) {
    size_t start;
    int k;
    i = hc_skip_ws(s, len, i);
    for (start = i; i < len && !hc_is_ws(s[i]) && strchr("|:{}", s[i]) == NULL; i++) {}
    if (i == start) return snprintf(msg, cap, "expected a filter name after '|'"), 0;
    if ((k = hc_filter_find(s + start, i - start)) < 0) {
        return snprintf(msg, cap, "unknown filter '%.*s'", (int)(i - start), s + start), 0;
    }
    f->kind = k;
    f->arg = NULL;
    f->arglen = 0;
    i = hc_skip_ws(s, len, i);
    if (i < len && s[i] == ':') i = hc_scan_arg(s, len, hc_skip_ws(s, len, i + 1), f);
    if (i >= len) return snprintf(msg, cap, "unterminated '{{'"), 0;
    if (hc_filter_needs_arg(k) && f->arglen == 0) {
        return snprintf(msg, cap, "filter '%s' needs an argument (%s:...)", hc_filter_name(k), hc_filter_name(k)), 0;
    }
    if (!hc_filter_needs_arg(k) && f->arg != NULL) {
        return snprintf(msg, cap, "filter '%s' takes no argument", hc_filter_name(k)), 0;
    }
    return i;
}

/* Parse the expression whose "{{" is at `open`. On success *end is the index after "}}".
 * On failure writes a message (with the expression quoted) and returns 0. */
static int hc_parse_expr(const char *s, size_t len, size_t open, hc_expr *e, size_t *end, char *msg,
                         size_t cap) {
    size_t i = hc_skip_ws(s, len, open + 2), start = i;
    msg[0] = '\0';
    e->open = open;
    e->nf = 0;
    while (i < len && !hc_is_ws(s[i]) && strchr("|{}\"", s[i]) == NULL) i++;
    e->path = s + start;
    e->pathlen = i - start;
    for (;;) {
        i = hc_skip_ws(s, len, i);
        if (i >= len || (s[i] == '}' && i + 1 >= len)) {
            snprintf(msg, cap, "unterminated '{{'");
        } else if (e->pathlen == 0) {
            snprintf(msg, cap, "expected a path after '{{'");
        } else if (!hc_valid_path(e->path, e->pathlen)) {
            snprintf(msg, cap, "invalid path '%.*s'", (int)e->pathlen, e->path);
        } else if (hc_at_close(s, len, i)) {
            break;
        } else if (s[i] != '|') {
            snprintf(msg, cap, "unexpected '%c'", s[i]);
        } else if (e->nf == HC_MAX_FILTERS) {
            snprintf(msg, cap, "more than %d filters", HC_MAX_FILTERS);
        } else if ((i = hc_parse_filter(s, len, i + 1, &e->f[e->nf], msg, cap)) != 0) {
            if (e->nf > 0 && e->f[e->nf - 1].kind == HC_FILTER_OPTIONAL) {
                snprintf(msg, cap, "filter 'optional' must come last");
            }
            e->nf++;
        }
        if (msg[0] != '\0') return hc_add_snippet(msg, cap, s, len, open), 0;
    }
    *end = i + 2;
    return 1;
}

/* ---- load-time check ---- */

static int hc_check_text(const char *s, size_t len, const hc_json *maps, char *msg, size_t cap) {
    size_t i = 0, j;
    hc_expr e;
    while ((i = hc_find_open(s, len, i)) < len) {
        if (!hc_parse_expr(s, len, i, &e, &i, msg, cap)) return 0;
        for (j = 0; j < e.nf; j++) {
            const hc_filter *f = &e.f[j];
            if (f->kind == HC_FILTER_MAP && hc_json_type(hc_json_get_n(maps, f->arg, f->arglen)) != HC_OBJECT) {
                snprintf(msg, cap, "unknown map '%.*s'", (int)f->arglen, f->arg);
                hc_add_snippet(msg, cap, s, len, e.open);
                return 0;
            }
        }
    }
    return 1;
}

static int hc_check_node(const hc_json *node, const hc_json *maps, char *err, size_t errcap);

static int hc_node_error(const hc_json *node, const char *msg, char *err, size_t errcap) {
    if (errcap > 0) snprintf(err, errcap, "%d:%d: %s", hc_json_line(node), hc_json_col(node), msg);
    return 0;
}

/* {"$each": "path", "$as": "name", "$render": template} */
static int hc_check_each(const hc_json *node, const hc_json *maps, char *err, size_t errcap) {
    const hc_json *each = hc_json_get(node, "$each"), *as = hc_json_get(node, "$as");
    const hc_json *render = hc_json_get(node, "$render");
    size_t i, n, len;
    const char *s = hc_json_string(each, &len);
    char msg[160];
    if (s == NULL || !hc_valid_path(s, len) || strpbrk(s, " {|}") != NULL) {
        return hc_node_error(each, "$each must be a path string such as \"order.items\"", err, errcap);
    }
    s = hc_json_string(as, &len);
    if (as != NULL && (s == NULL || len == 0 || strchr(s, '.') != NULL)) {
        return hc_node_error(as, "$as must be a non-empty name without '.'", err, errcap);
    }
    if (render == NULL) return hc_node_error(node, "$each needs a $render template", err, errcap);
    for (i = 0, n = hc_json_count(node); i < n; i++) {
        const char *k = hc_json_key_at(node, i);
        if (strcmp(k, "$each") != 0 && strcmp(k, "$as") != 0 && strcmp(k, "$render") != 0) {
            snprintf(msg, sizeof msg, "unexpected member '%.40s' beside $each", k);
            return hc_node_error(hc_json_at(node, i), msg, err, errcap);
        }
    }
    return hc_check_node(render, maps, err, errcap);
}

static int hc_check_node(const hc_json *node, const hc_json *maps, char *err, size_t errcap) {
    size_t i, n = hc_json_count(node), len;
    const char *s = hc_json_string(node, &len);
    char msg[256];
    if (s != NULL && !hc_check_text(s, len, maps, msg, sizeof msg)) return hc_node_error(node, msg, err, errcap);
    if (hc_json_type(node) == HC_OBJECT && hc_json_get(node, "$each") != NULL) {
        return hc_check_each(node, maps, err, errcap);
    }
    for (i = 0; i < n; i++) {
        if (!hc_check_node(hc_json_at(node, i), maps, err, errcap)) return 0;
    }
    return 1;
}

int hc_template_check(const hc_json *tmpl, const hc_json *maps, char *err, size_t errcap) {
    if (errcap > 0) err[0] = '\0';
    return hc_check_node(tmpl, maps, err, errcap);
}

int hc_template_check_text(const char *tmpl, const hc_json *maps, char *err, size_t errcap) {
    char msg[256];
    if (errcap > 0) err[0] = '\0';
    if (hc_check_text(tmpl, strlen(tmpl), maps, msg, sizeof msg)) return 1;
    hc_set_err(err, errcap, msg);
    return 0;
}

/* ---- rendering ---- */

/* The value a path names (borrowed), or NULL. Inner scopes ($each) shadow outer ones. */
static const hc_json *hc_lookup(const hc_ctx *c, const char *path, size_t len) {
    size_t seg = 0, i;
    while (seg < len && path[seg] != '.') seg++;
    for (i = c->nscopes; i-- > 0;) {
        const char *name = c->scopes[i].name;
        if (name == NULL || strlen(name) != seg || memcmp(name, path, seg) != 0) continue;
        if (seg == len) return c->scopes[i].value;
        return hc_json_path_n(c->scopes[i].value, path + seg + 1, len - seg - 1);
    }
    return NULL;
}

static hc_json *hc_eval(hc_ctx *c, const hc_expr *e) {
    const hc_json *found = hc_lookup(c, e->path, e->pathlen);
    hc_json *v = found != NULL ? hc_json_clone(found) : hc_json_new_null();
    size_t i;
    for (i = 0; v != NULL && i < e->nf; i++) {
        v = hc_filter_apply(e->f[i].kind, e->f[i].arg, e->f[i].arglen, v, c->maps, c->err, c->errcap);
    }
    return v;
}

/* Interpolate s[0..len) into out. */
static int hc_render_into(hc_ctx *c, const char *s, size_t len, hc_buf *out) {
    size_t i = 0, open;
    hc_expr e;
    char msg[256];
    while ((open = hc_find_open(s, len, i)) < len) {
        hc_json *v;
        hc_buf_append(out, s + i, open - i);
        if (!hc_parse_expr(s, len, open, &e, &i, msg, sizeof msg)) return hc_set_err(c->err, c->errcap, msg), 0;
        if ((v = hc_eval(c, &e)) == NULL) return 0;
        hc_json_text(v, out);
        hc_json_free(v);
    }
    hc_buf_append(out, s + i, len - i);
    return !out->failed;
}

/* A string node: literal, one exact expression (type kept), or interpolated text. *omit is
 * set when the value is an `| optional` expression that rendered to null. */
static hc_json *hc_render_string(hc_ctx *c, const char *s, size_t len, int *omit) {
    size_t open = hc_find_open(s, len, 0), end;
    hc_expr e;
    hc_buf b = {0};
    hc_json *r = NULL;
    char msg[256];
    if (open == len) return hc_json_new_string(s, len);
    if (hc_skip_ws(s, len, 0) == open) {
        if (!hc_parse_expr(s, len, open, &e, &end, msg, sizeof msg)) return hc_set_err(c->err, c->errcap, msg), NULL;
        if (hc_skip_ws(s, len, end) == len) {
            r = hc_eval(c, &e);
            if (r != NULL && hc_json_type(r) == HC_NULL && e.nf > 0 && e.f[e.nf - 1].kind == HC_FILTER_OPTIONAL) {
                *omit = 1;
            }
            return r;
        }
    }
    if (hc_render_into(c, s, len, &b)) r = hc_json_new_string(b.data != NULL ? b.data : "", b.len);
    hc_buf_free(&b);
    return r;
}

static hc_json *hc_render_node(hc_ctx *c, const hc_json *t, int *omit);

/* {"$each": path, "$as": name, "$render": template} -> one rendered element per item. */
static hc_json *hc_render_each(hc_ctx *c, const hc_json *t) {
    size_t len = 0, i, n;
    const char *path = hc_json_string(hc_json_get(t, "$each"), &len);
    const char *as = hc_json_string(hc_json_get(t, "$as"), NULL);
    const hc_json *render = hc_json_get(t, "$render"), *list;
    hc_ctx inner = *c;
    hc_scope *scopes;
    hc_json *out;
    if (path == NULL || render == NULL) return hc_set_err(c->err, c->errcap, "$each needs a path and $render"), NULL;
    list = hc_lookup(c, path, len);
    n = hc_json_type(list) == HC_ARRAY ? hc_json_count(list) : 0;
    if ((out = hc_json_new_array()) == NULL || n == 0) return out;
    if ((scopes = malloc((c->nscopes + 1) * sizeof *scopes)) == NULL) return hc_json_free(out), NULL;
    if (c->nscopes > 0) memcpy(scopes, c->scopes, c->nscopes * sizeof *scopes);
    scopes[c->nscopes].name = as != NULL ? as : "item";
    inner.scopes = scopes;
    inner.nscopes = c->nscopes + 1;
    for (i = 0; i < n; i++) {
        int omit = 0; /* an omitted element stays as null: arrays keep their positions */
        scopes[c->nscopes].value = hc_json_at(list, i);
        if (!hc_json_append(out, hc_render_node(&inner, render, &omit))) {
            hc_json_free(out);
            out = NULL;
            break;
        }
    }
    free(scopes);
    return out;
}

static hc_json *hc_render_node(hc_ctx *c, const hc_json *t, int *omit) {
    hc_type type = hc_json_type(t);
    size_t i, len, n = hc_json_count(t);
    const char *s = hc_json_string(t, &len);
    hc_json *out;
    if (s != NULL) return hc_render_string(c, s, len, omit);
    if (type == HC_OBJECT && hc_json_get(t, "$each") != NULL) return hc_render_each(c, t);
    if (type != HC_ARRAY && type != HC_OBJECT) return hc_json_clone(t);
    out = type == HC_ARRAY ? hc_json_new_array() : hc_json_new_object();
    for (i = 0; out != NULL && i < n; i++) {
        int skip = 0;
        const char *key = hc_json_key_at(t, i);
        hc_json *v = hc_render_node(c, hc_json_at(t, i), &skip);
        int ok;
        if (type == HC_ARRAY) {
            ok = hc_json_append(out, v);
        } else if (skip) {
            hc_json_free(v);
            ok = 1;
        } else {
            ok = hc_json_add(out, key, strlen(key), v);
        }
        if (!ok) {
            hc_json_free(out);
            out = NULL;
        }
    }
    return out;
}

static void hc_ctx_init(hc_ctx *c, const hc_scope *scopes, size_t nscopes, const hc_json *maps, char *err,
                        size_t errcap) {
    c->scopes = scopes;
    c->nscopes = scopes != NULL ? nscopes : 0;
    c->maps = maps;
    c->err = err;
    c->errcap = err != NULL ? errcap : 0;
    if (c->errcap > 0) err[0] = '\0';
}

hc_json *hc_template_render(const hc_json *tmpl, const hc_scope *scopes, size_t nscopes, const hc_json *maps,
                            char *err, size_t errcap) {
    hc_ctx c;
    int omit = 0;
    hc_json *r;
    hc_ctx_init(&c, scopes, nscopes, maps, err, errcap);
    r = hc_render_node(&c, tmpl, &omit);
    if (r == NULL && c.errcap > 0 && err[0] == '\0') hc_set_err(err, errcap, "out of memory");
    return r;
}

int hc_template_render_text(const char *tmpl, const hc_scope *scopes, size_t nscopes, const hc_json *maps,
                            hc_buf *out, char *err, size_t errcap) {
    hc_ctx c;
    hc_ctx_init(&c, scopes, nscopes, maps, err, errcap);
    if (hc_render_into(&c, tmpl, strlen(tmpl), out)) return 1;
    if (c.errcap > 0 && err[0] == '\0') hc_set_err(err, errcap, "out of memory");
    return 0;
}
