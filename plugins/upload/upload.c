/*
 * brisk — the upload plugin (plugin ABI 1.1): answers the SHA-256 of the
 * request body, read piece by piece as it arrives (BRISK_CAP_BODY_STREAM),
 * so memory stays bounded whatever the body's size:
 *
 *   200 text/plain  "<64 lowercase hex digits>\n"
 *
 * A request without a body gets the digest of the empty body. A
 * Content-Length over `max_size` is refused from the head, before the body
 * is read: 413, and a client that sent `Expect: 100-continue` never gets
 * `100 Continue` (it need not send the body at all). A chunked body that
 * passes `max_size` gets 413 as it does. brisk's own --max-request-body-size
 * applies too.
 *
 * Config ([plugins.NAME.config]):
 *   max_size  the largest body taken, in bytes (0: no limit of the plugin's
 *             own; default 0)
 */
#include <brisk/plugin_abi.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const brisk_host_api* host;

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------------ */

typedef struct sha256 {
    uint32_t h[8];
    uint64_t bytes;
    unsigned char block[64];
    size_t fill;
} sha256;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static void sha256_init(sha256* s) {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, iv, sizeof iv);
    s->bytes = 0;
    s->fill = 0;
}

static void sha256_block(sha256* s, const unsigned char* p) {
    uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
    int i;
    for (i = 0; i < 16; ++i)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (i = 16; i < 64; ++i) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (i = 0; i < 64; ++i) {
        t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha256_update(sha256* s, const unsigned char* p, size_t n) {
    s->bytes += n;
    if (s->fill) {
        size_t k = 64 - s->fill < n ? 64 - s->fill : n;
        memcpy(s->block + s->fill, p, k);
        s->fill += k, p += k, n -= k;
        if (s->fill < 64) return;
        sha256_block(s, s->block);
        s->fill = 0;
    }
    for (; n >= 64; p += 64, n -= 64) sha256_block(s, p);
    memcpy(s->block, p, n);
    s->fill = n;
}

/* The digest as 64 lowercase hex digits and a newline into out[65]. */
static void sha256_hex(sha256* s, char* out) {
    static const char hex[] = "0123456789abcdef";
    uint64_t bits = s->bytes * 8;
    unsigned char pad[72] = {0x80};
    size_t padlen = (s->fill < 56 ? 56 : 120) - s->fill, i;
    for (i = 0; i < 8; ++i) pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
    sha256_update(s, pad, padlen + 8);
    for (i = 0; i < 32; ++i) {
        unsigned char byte = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
        out[2 * i] = hex[byte >> 4];
        out[2 * i + 1] = hex[byte & 15];
    }
    out[64] = '\n';
}

/* ---- the plugin ---------------------------------------------------------- */

typedef struct upload_config {
    uint64_t max_size; /* 0: no limit of its own */
} upload_config;

/* One body being read: what its reads and its cancel callback share (all on its loop). */
typedef struct upload {
    uint64_t handle;
    uint64_t max_size;
    sha256 digest;
} upload;

static brisk_str lit(const char* s) {
    brisk_str out;
    out.ptr = s;
    out.len = strlen(s);
    return out;
}

static const char kTooLarge[] = "Payload Too Large\n";

static void upload_piece(void* arg, const void* data, uint64_t len, int32_t last) {
    upload* u = (upload*)arg;
    brisk_header type;
    char hex[65];
    type.name = lit("Content-Type");
    type.value = lit("text/plain; charset=utf-8");
    if (u->max_size && u->digest.bytes + len > u->max_size) {
        /* A chunked body over the limit: answered now, the rest is not read. */
        (void)host->resume(u->handle, 413, &type, 1, kTooLarge, sizeof kTooLarge - 1);
        free(u);
        return;
    }
    sha256_update(&u->digest, (const unsigned char*)data, (size_t)len);
    if (!last) {
        if (host->body_read(u->handle, upload_piece, u) != 0) free(u); /* cannot be: cancelled first */
        return;
    }
    sha256_hex(&u->digest, hex);
    (void)host->resume(u->handle, 200, &type, 1, hex, sizeof hex);
    free(u);
}

/* brisk takes no answer any more (the client left, the body was malformed or too slow, the server stops). */
static void upload_cancel(void* arg) { free(arg); }

static int32_t text(brisk_ctx* ctx, uint32_t status, const char* body, size_t len) {
    if (host->set_status(ctx, status) != 0 ||
        host->add_header(ctx, lit("Content-Type"), lit("text/plain; charset=utf-8")) != 0 ||
        host->body_copy(ctx, body, len) != 0)
        return BRISK_ERROR;
    return BRISK_DONE;
}

/* The request's Content-Length, or -1 without one (no body, or chunked). */
static int64_t content_length(brisk_ctx* ctx) {
    brisk_str v;
    int64_t n = 0;
    uint64_t i;
    if (host->header(ctx, lit("Content-Length"), 0, &v) != 0) return -1;
    for (i = 0; i < v.len && n < (INT64_C(1) << 60); ++i) n = n * 10 + (v.ptr[i] - '0');
    return n;
}

static int has_body(brisk_ctx* ctx) {
    brisk_str v;
    return content_length(ctx) > 0 || host->header(ctx, lit("Transfer-Encoding"), 0, &v) == 0;
}

static int32_t upload_handle(void* instance, brisk_ctx* ctx, const brisk_request* request) {
    const upload_config* config = (const upload_config*)instance;
    upload* u;
    char hex[65];
    (void)request;
    if (!has_body(ctx)) {
        sha256 empty;
        sha256_init(&empty);
        sha256_hex(&empty, hex);
        return text(ctx, 200, hex, sizeof hex);
    }
    if (config->max_size && content_length(ctx) > (int64_t)config->max_size)
        return text(ctx, 413, kTooLarge, sizeof kTooLarge - 1); /* decided from the head: no 100 Continue */
    u = (upload*)calloc(1, sizeof *u);
    if (!u) return BRISK_ERROR;
    u->max_size = config->max_size;
    sha256_init(&u->digest);
    u->handle = host->suspend(ctx, upload_cancel, u);
    /* Before handle() returns, a failure undoes the suspension (500) and calls no callback. */
    if (u->handle == 0 || host->body_read(u->handle, upload_piece, u) != 0) {
        free(u);
        return BRISK_ERROR;
    }
    return BRISK_DONE;
}

static void* upload_create(const brisk_host_api* api, const brisk_config* config, char* error, uint64_t error_len) {
    upload_config* c;
    int64_t max = 0;
    brisk_str where, s;
    int32_t b;
    double d;
    if (api->size < offsetof(brisk_host_api, body_read) + sizeof api->body_read) {
        snprintf(error, (size_t)error_len, "needs a brisk host of plugin ABI 1.1 or newer");
        return NULL;
    }
    if (host->config_int(config, lit("max_size"), &max) != 0 &&
        (host->config_string(config, lit("max_size"), &s) == 0 || host->config_bool(config, lit("max_size"), &b) == 0 ||
         host->config_double(config, lit("max_size"), &d) == 0))
        max = -1;
    if (max < 0) {
        where = host->config_where(config, lit("max_size"));
        snprintf(error, (size_t)error_len, "%.*s: max_size: give a whole number of bytes, 0 for no limit",
                 (int)where.len, where.ptr);
        return NULL;
    }
    c = (upload_config*)calloc(1, sizeof *c);
    if (!c) return NULL;
    c->max_size = (uint64_t)max;
    return c;
}

static void upload_destroy(void* instance) { free(instance); }

static const brisk_plugin_descriptor descriptor = {
    sizeof(brisk_plugin_descriptor),
    BRISK_PLUGIN_ABI_MAJOR,
    BRISK_PLUGIN_ABI_MINOR,
    1, /* min_host_minor: suspend and body reads */
    "upload",
    "1.0.0",
    BRISK_CAP_BODY_STREAM,
    upload_create,
    NULL,
    upload_handle,
    NULL,
    upload_destroy,
    {NULL},
    NULL, /* stopping: nothing to end early */
};

BRISK_PLUGIN_EXPORT const brisk_plugin_descriptor* brisk_plugin_entry_v1(uint32_t host_abi_major,
                                                                         uint32_t host_abi_minor,
                                                                         const brisk_host_api* api) {
    if (host_abi_major != BRISK_PLUGIN_ABI_MAJOR || host_abi_minor < 1) return NULL;
    host = api;
    return &descriptor;
}
