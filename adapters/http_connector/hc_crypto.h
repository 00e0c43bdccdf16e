/*
 * hc_crypto.h -- the little cryptography and encoding the HTTP connector needs to sign
 * requests and verify webhooks without linking a crypto library: SHA-256 (FIPS 180-4),
 * HMAC-SHA256 (RFC 2104), hex, base64 (RFC 4648), a constant-time compare and RFC 3986
 * percent-encoding. No global state; every function is thread-safe.
 */
#ifndef HC_CRYPTO_H
#define HC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "hc_buf.h"

#define HC_SHA256_LEN 32

/* Streaming SHA-256 state; treat the fields as private. */
typedef struct hc_sha256_ctx {
    uint32_t h[8];
    uint64_t total;      /* bytes hashed so far */
    uint8_t block[64];
    size_t fill;         /* bytes waiting in block */
} hc_sha256_ctx;

void hc_sha256_init(hc_sha256_ctx *ctx);
void hc_sha256_update(hc_sha256_ctx *ctx, const void *data, size_t len);
/* Write the digest; ctx must be re-initialised before reuse. */
void hc_sha256_final(hc_sha256_ctx *ctx, uint8_t out[HC_SHA256_LEN]);
/* One-shot SHA-256. */
void hc_sha256(const void *data, size_t len, uint8_t out[HC_SHA256_LEN]);
/* HMAC-SHA256 of msg under key (any key length; long keys are hashed first). */
void hc_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                    uint8_t out[HC_SHA256_LEN]);

/* Lowercase hex of bytes[0..n) into out, which must hold 2n + 1 chars (NUL-terminated). */
void hc_hex(const uint8_t *bytes, size_t n, char *out);
/* Append standard base64 (with '=' padding) of bytes[0..n) to out. */
void hc_base64(const uint8_t *bytes, size_t n, hc_buf *out);
/* 1 if a[0..alen) equals b[0..blen), else 0, in time that depends only on alen: pass the
 * expected (fixed-length) value as a and the received one as b. */
int hc_equal_ct(const char *a, size_t alen, const char *b, size_t blen);
/* Append s[0..len) percent-encoded: RFC 3986 unreserved bytes (A-Z a-z 0-9 - . _ ~) kept,
 * every other byte as %XX with uppercase hex. */
void hc_url_encode(const char *s, size_t len, hc_buf *out);

#endif
