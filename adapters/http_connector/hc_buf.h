/*
 * hc_buf.h -- growable byte buffer for the HTTP connector (C99, libc only).
 *
 * A zero-initialised hc_buf is empty and valid. `data` is NUL-terminated whenever it is
 * non-NULL, so it can be handed to APIs that want C strings. After an allocation failure
 * `failed` is set and every later append is a no-op, so callers check once at the end.
 */
#ifndef HC_BUF_H
#define HC_BUF_H

#include <stddef.h>

typedef struct hc_buf {
    char *data;  /* owned; NUL-terminated when non-NULL; NULL until the first append */
    size_t len;  /* bytes in data, excluding the terminating NUL */
    size_t cap;  /* bytes allocated for data */
    int failed;  /* 1 after an allocation failure; appends are then ignored */
} hc_buf;

/* Append n bytes (may contain NULs). */
void hc_buf_append(hc_buf *b, const void *bytes, size_t n);
/* Append a NUL-terminated string. */
void hc_buf_puts(hc_buf *b, const char *s);
/* Append printf-formatted text. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
void hc_buf_printf(hc_buf *b, const char *fmt, ...);
/* Free the data and reset the buffer to empty (failed cleared). */
void hc_buf_free(hc_buf *b);

#endif
