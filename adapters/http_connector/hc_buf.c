/* hc_buf.c -- growable byte buffer; see hc_buf.h. */
#include "hc_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Make room for `extra` more bytes plus the NUL; doubles so appends are amortised O(1). */
static int hc_buf_reserve(hc_buf *b, size_t extra) {
    size_t need, cap;
    char *p;
    if (b->failed) return 0;
    if (extra > (size_t)-1 - b->len - 1) {
        b->failed = 1;
        return 0;
    }
    need = b->len + extra + 1;
    if (need <= b->cap) return 1;
    cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = 1;
        return 0;
    }
    b->data = p;
    b->cap = cap;
    return 1;
}

void hc_buf_append(hc_buf *b, const void *bytes, size_t n) {
    if (!hc_buf_reserve(b, n)) return;
    if (n > 0) memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void hc_buf_puts(hc_buf *b, const char *s) {
    hc_buf_append(b, s, strlen(s));
}

void hc_buf_printf(hc_buf *b, const char *fmt, ...) {
    va_list ap;
    int n;
    if (b->failed) return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (!hc_buf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void hc_buf_free(hc_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}
