/*
 * hc_json_parse.c -- RFC 8259 parser for hc_json (see hc_json.h), built on the public
 * constructors so the DOM's layout stays private to hc_json.c.
 */
#include "hc_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HC_JSON_MAX_DEPTH 128

typedef struct hc_parser {
    const char *s;
    size_t len, pos;
    size_t line_start; /* offset of the current line's first byte, for columns */
    int line;
    int depth;
    char *err;
    size_t errcap;
} hc_parser;

/* Report the first error, at byte `at` (always on the current line: strings cannot span
 * lines, so only whitespace moves the line counter). */
static void hc_fail(hc_parser *p, size_t at, const char *msg) {
    if (p->errcap > 0) snprintf(p->err, p->errcap, "%d:%d: %s", p->line, (int)(at - p->line_start) + 1, msg);
}

/* An error naming byte c, printable or as \xNN, between `before` and `after`. */
static void hc_fail_byte(hc_parser *p, size_t at, const char *before, int c, const char *after) {
    char text[96];
    if (c > 0x20 && c < 0x7f) {
        snprintf(text, sizeof text, "%s%c%s", before, c, after);
    } else {
        snprintf(text, sizeof text, "%s\\x%02x%s", before, (unsigned)(c & 0xff), after);
    }
    hc_fail(p, at, text);
}

/* At end of input every expectation fails the same way; say so rather than "expected x". */
static void hc_fail_here(hc_parser *p, const char *msg) {
    if (p->pos >= p->len) {
        hc_fail(p, p->pos, "unexpected end of input");
    } else {
        hc_fail(p, p->pos, msg);
    }
}

static void hc_ws(hc_parser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == '\n') {
            p->line++;
            p->line_start = p->pos + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        p->pos++;
    }
}

static int hc_hex4(const char *s, size_t avail, unsigned *out) {
    size_t i;
    *out = 0;
    if (avail < 4) return 0;
    for (i = 0; i < 4; i++) {
        char c = s[i];
        unsigned v;
        if (c >= '0' && c <= '9') v = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v = (unsigned)(c - 'A' + 10);
        else return 0;
        *out = *out << 4 | v;
    }
    return 1;
}

static void hc_put_utf8(hc_buf *b, unsigned cp) {
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    hc_buf_append(b, u, n);
}

/* \uXXXX at p->pos (the backslash), joining a surrogate pair into one code point. */
static int hc_unicode_escape(hc_parser *p, hc_buf *out) {
    size_t at = p->pos;
    unsigned hi, lo;
    if (!hc_hex4(p->s + at + 2, p->len - at - 2, &hi)) {
        hc_fail(p, at, "invalid \\u escape");
        return 0;
    }
    p->pos += 6;
    if (hi >= 0xDC00 && hi <= 0xDFFF) {
        hc_fail(p, at, "unpaired surrogate in \\u escape");
        return 0;
    }
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
            !hc_hex4(p->s + p->pos + 2, 4, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
            hc_fail(p, at, "unpaired surrogate in \\u escape");
            return 0;
        }
        p->pos += 6;
        hi = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    }
    hc_put_utf8(out, hi);
    return 1;
}

static int hc_escape(hc_parser *p, hc_buf *out) {
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit;
    char e = p->s[p->pos + 1];
    if (e == 'u') return hc_unicode_escape(p, out);
    hit = e != '\0' ? strchr(from, e) : NULL;
    if (hit == NULL) {
        hc_fail_byte(p, p->pos, "invalid escape \\", (unsigned char)e, "");
        return 0;
    }
    hc_buf_append(out, &to[hit - from], 1);
    p->pos += 2;
    return 1;
}

/* A string at p->pos (the opening quote); the decoded bytes are left in *out. */
static int hc_string(hc_parser *p, hc_buf *out) {
    size_t open = p->pos++;
    for (;;) {
        size_t run = p->pos;
        unsigned char c = 0;
        while (p->pos < p->len) {
            c = (unsigned char)p->s[p->pos];
            if (c == '"' || c == '\\' || c < 0x20) break;
            p->pos++;
        }
        hc_buf_append(out, p->s + run, p->pos - run);
        if (p->pos >= p->len || (c == '\\' && p->pos + 1 >= p->len)) {
            hc_fail(p, open, "unterminated string");
            return 0;
        }
        if (c == '"') break;
        if (c < 0x20) {
            hc_fail_byte(p, p->pos, "control character ", c, " in string (must be escaped)");
            return 0;
        }
        if (!hc_escape(p, out)) return 0;
    }
    p->pos++;
    if (out->failed) hc_fail(p, open, "out of memory");
    return !out->failed;
}

static hc_json *hc_value(hc_parser *p);

static hc_json *hc_string_node(hc_parser *p) {
    hc_buf b = {0};
    hc_json *n = NULL;
    if (hc_string(p, &b)) {
        n = hc_json_new_string(b.data != NULL ? b.data : "", b.len);
        if (n == NULL) hc_fail(p, p->pos, "out of memory");
    }
    hc_buf_free(&b);
    return n;
}

/* `"key" :` of an object member; the decoded key is left in *key (never NULL data). */
static int hc_member_key(hc_parser *p, hc_buf *key) {
    hc_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != '"') {
        hc_fail_here(p, "expected string for object key");
        return 0;
    }
    if (!hc_string(p, key)) return 0;
    hc_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != ':') {
        hc_fail_here(p, "expected ':' after object key");
        return 0;
    }
    p->pos++;
    hc_buf_append(key, "", 0);
    return 1;
}

/* Elements of an array, or members of an object, after the opening bracket. */
static int hc_members(hc_parser *p, hc_json *n) {
    int obj = hc_json_type(n) == HC_OBJECT, ok;
    char close = obj ? '}' : ']';
    hc_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) return ++p->pos, 1;
    for (;;) {
        hc_buf key = {0};
        hc_json *v = NULL;
        ok = (!obj || hc_member_key(p, &key)) && (v = hc_value(p)) != NULL;
        if (ok) { /* hc_json_add and hc_json_append take v even when they fail */
            ok = obj ? !key.failed && hc_json_add(n, key.data, key.len, v) : hc_json_append(n, v);
            if (!ok) hc_fail(p, p->pos, "out of memory");
        }
        hc_buf_free(&key);
        if (!ok) return 0;
        hc_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
        } else if (p->pos < p->len && p->s[p->pos] == close) {
            return ++p->pos, 1;
        } else {
            hc_fail_here(p, obj ? "expected ',' or '}' after object member"
                                : "expected ',' or ']' after array element");
            return 0;
        }
    }
}

static hc_json *hc_container(hc_parser *p) {
    hc_json *n;
    if (p->depth >= HC_JSON_MAX_DEPTH) {
        hc_fail(p, p->pos, "nesting deeper than 128");
        return NULL;
    }
    n = p->s[p->pos] == '{' ? hc_json_new_object() : hc_json_new_array();
    if (n == NULL) return hc_fail(p, p->pos, "out of memory"), NULL;
    p->pos++;
    p->depth++;
    if (!hc_members(p, n)) {
        hc_json_free(n);
        return NULL;
    }
    p->depth--;
    return n;
}

static hc_json *hc_scalar(hc_parser *p) {
    static const char *const words[] = {"true", "false", "null"};
    const char *s = p->s + p->pos;
    size_t avail = p->len - p->pos, n, i;
    hc_json *v = NULL;
    for (i = 0; i < 3; i++) {
        n = strlen(words[i]);
        if (s[0] != words[i][0]) continue;
        if (avail < n || memcmp(s, words[i], n) != 0) {
            hc_fail(p, p->pos, i == 0 ? "invalid literal (expected true)"
                             : i == 1 ? "invalid literal (expected false)" : "invalid literal (expected null)");
            return NULL;
        }
        v = i == 2 ? hc_json_new_null() : hc_json_new_bool(i == 0);
        p->pos += n;
        return v != NULL ? v : (hc_fail(p, p->pos, "out of memory"), NULL);
    }
    if (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
        hc_fail_byte(p, p->pos, "unexpected character '", (unsigned char)s[0], "'");
        return NULL;
    }
    /* Take the longest run of number characters and let the constructor check the grammar,
     * so "1.", "-" and "1-2" are one clear error. (Out of memory also reads as invalid.) */
    for (n = 0; n < avail && s[n] != '\0' && strchr("0123456789+-.eE", s[n]) != NULL; n++) {}
    v = hc_json_new_number_n(s, n);
    if (v == NULL) hc_fail(p, p->pos, "invalid number");
    p->pos += n;
    return v;
}

static hc_json *hc_value(hc_parser *p) {
    hc_json *v;
    int line, col;
    hc_ws(p);
    if (p->pos >= p->len) return hc_fail_here(p, ""), NULL;
    line = p->line;
    col = (int)(p->pos - p->line_start) + 1;
    switch (p->s[p->pos]) {
    case '{':
    case '[': v = hc_container(p); break;
    case '"': v = hc_string_node(p); break;
    default: v = hc_scalar(p); break;
    }
    hc_json_set_pos(v, line, col);
    return v;
}

hc_json *hc_json_parse(const char *text, size_t len, char *err, size_t errcap) {
    hc_parser p;
    hc_json *root;
    memset(&p, 0, sizeof p);
    p.s = text != NULL ? text : "";
    p.len = text != NULL ? len : 0;
    p.line = 1;
    p.err = err;
    p.errcap = err != NULL ? errcap : 0;
    if (p.errcap > 0) err[0] = '\0';
    root = hc_value(&p);
    if (root == NULL) return NULL;
    hc_ws(&p);
    if (p.pos < p.len) {
        hc_fail(&p, p.pos, "unexpected trailing characters after JSON value");
        hc_json_free(root);
        return NULL;
    }
    return root;
}
