/* hc_crypto.c -- SHA-256, HMAC-SHA256 and encodings; see hc_crypto.h. */
#include "hc_crypto.h"

#include <string.h>

/* FIPS 180-4 section 4.2.2: first 32 bits of the fractional parts of the cube roots of the
 * first 64 primes. */
static const uint32_t hc_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define HC_ROTR(x, n) ((x) >> (n) | (x) << (32 - (n)))

static void hc_sha256_block(hc_sha256_ctx *ctx, const uint8_t *p) {
    uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
    int i;
    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               (uint32_t)p[4 * i + 3];
    }
    for (i = 16; i < 64; i++) {
        uint32_t s0 = HC_ROTR(w[i - 15], 7) ^ HC_ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = HC_ROTR(w[i - 2], 17) ^ HC_ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = ctx->h[0], b = ctx->h[1], c = ctx->h[2], d = ctx->h[3];
    e = ctx->h[4], f = ctx->h[5], g = ctx->h[6], h = ctx->h[7];
    for (i = 0; i < 64; i++) {
        t1 = h + (HC_ROTR(e, 6) ^ HC_ROTR(e, 11) ^ HC_ROTR(e, 25)) + ((e & f) ^ (~e & g)) + hc_k[i] + w[i];
        t2 = (HC_ROTR(a, 2) ^ HC_ROTR(a, 13) ^ HC_ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g, g = f, f = e, e = d + t1;
        d = c, c = b, b = a, a = t1 + t2;
    }
    ctx->h[0] += a, ctx->h[1] += b, ctx->h[2] += c, ctx->h[3] += d;
    ctx->h[4] += e, ctx->h[5] += f, ctx->h[6] += g, ctx->h[7] += h;
}

void hc_sha256_init(hc_sha256_ctx *ctx) {
    /* FIPS 180-4 section 5.3.3: square roots of the first 8 primes. */
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(ctx->h, iv, sizeof iv);
    ctx->total = 0;
    ctx->fill = 0;
}

void hc_sha256_update(hc_sha256_ctx *ctx, const void *data, size_t len) {
    const uint8_t *p = data;
    ctx->total += len;
    while (len > 0) {
        size_t take = 64 - ctx->fill;
        if (take > len) take = len;
        if (ctx->fill == 0 && len >= 64) { /* whole blocks straight from the input */
            hc_sha256_block(ctx, p);
            take = 64;
        } else {
            memcpy(ctx->block + ctx->fill, p, take);
            ctx->fill += take;
            if (ctx->fill == 64) {
                hc_sha256_block(ctx, ctx->block);
                ctx->fill = 0;
            }
        }
        p += take;
        len -= take;
    }
}

void hc_sha256_final(hc_sha256_ctx *ctx, uint8_t out[HC_SHA256_LEN]) {
    uint64_t bits = ctx->total * 8;
    int i;
    /* Padding (section 5.1.1): 0x80, zeros to 56 mod 64, then the bit length big-endian. */
    ctx->block[ctx->fill++] = 0x80;
    if (ctx->fill > 56) {
        memset(ctx->block + ctx->fill, 0, 64 - ctx->fill);
        hc_sha256_block(ctx, ctx->block);
        ctx->fill = 0;
    }
    memset(ctx->block + ctx->fill, 0, 56 - ctx->fill);
    for (i = 0; i < 8; i++) ctx->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    hc_sha256_block(ctx, ctx->block);
    for (i = 0; i < 32; i++) out[i] = (uint8_t)(ctx->h[i / 4] >> (24 - 8 * (i % 4)));
    memset(ctx, 0, sizeof *ctx); /* the state can reveal HMAC key material */
}

void hc_sha256(const void *data, size_t len, uint8_t out[HC_SHA256_LEN]) {
    hc_sha256_ctx ctx;
    hc_sha256_init(&ctx);
    hc_sha256_update(&ctx, data, len);
    hc_sha256_final(&ctx, out);
}

void hc_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
                    uint8_t out[HC_SHA256_LEN]) {
    uint8_t k[64], pad[64], inner[HC_SHA256_LEN];
    hc_sha256_ctx ctx;
    int i;
    /* RFC 2104 section 2: keys longer than the block are hashed, shorter ones zero-padded. */
    memset(k, 0, sizeof k);
    if (keylen > 64) {
        hc_sha256(key, keylen, k);
    } else if (keylen > 0) {
        memcpy(k, key, keylen);
    }
    for (i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    hc_sha256_init(&ctx);
    hc_sha256_update(&ctx, pad, 64);
    hc_sha256_update(&ctx, msg, msglen);
    hc_sha256_final(&ctx, inner);
    for (i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
    hc_sha256_init(&ctx);
    hc_sha256_update(&ctx, pad, 64);
    hc_sha256_update(&ctx, inner, sizeof inner);
    hc_sha256_final(&ctx, out);
    memset(k, 0, sizeof k);
    memset(pad, 0, sizeof pad);
}

void hc_hex(const uint8_t *bytes, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

void hc_base64(const uint8_t *bytes, size_t n, hc_buf *out) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)bytes[i] << 16;
        char q[4];
        if (i + 1 < n) v |= (uint32_t)bytes[i + 1] << 8;
        if (i + 2 < n) v |= bytes[i + 2];
        q[0] = alphabet[v >> 18 & 63];
        q[1] = alphabet[v >> 12 & 63];
        q[2] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? alphabet[v & 63] : '=';
        hc_buf_append(out, q, 4);
    }
    if (n == 0) hc_buf_append(out, "", 0); /* still leave a valid empty string in out */
}

int hc_equal_ct(const char *a, size_t alen, const char *b, size_t blen) {
    /* volatile keeps the compiler from turning the loop into an early-exit compare. */
    volatile unsigned char diff = (unsigned char)(alen != blen);
    size_t i;
    for (i = 0; i < alen; i++) {
        /* Past the end of b, compare against a itself so the work stays the same. */
        unsigned char y = i < blen ? (unsigned char)b[i] : (unsigned char)~a[i];
        diff |= (unsigned char)((unsigned char)a[i] ^ y);
    }
    return diff == 0;
}

void hc_url_encode(const char *s, size_t len, hc_buf *out) {
    static const char digits[] = "0123456789ABCDEF";
    size_t i, run = 0; /* copy unreserved runs in one append */
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char pct[3];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '.' || c == '_' || c == '~') {
            continue;
        }
        hc_buf_append(out, s + run, i - run);
        pct[0] = '%';
        pct[1] = digits[c >> 4];
        pct[2] = digits[c & 15];
        hc_buf_append(out, pct, 3);
        run = i + 1;
    }
    hc_buf_append(out, s + run, len - run);
}
