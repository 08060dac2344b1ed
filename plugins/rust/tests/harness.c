/*
 * brisk — loads the Rust example plugin the way brisk does (dlopen with
 * RTLD_NOW | RTLD_LOCAL, the entry point, create, the loop hooks, handle,
 * destroy) against a stub host, and checks what the plugin does through
 * the C ABI alone: answers, declines, a contained panic, a refused config.
 *
 * Usage: brisk_rust_plugin_harness PATH/librust_example.so
 */
#include "brisk/plugin_abi.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The stub host's side of the opaque types. */
struct brisk_ctx {
    const char* query;
    uint32_t status;
    int body_started;
    void* slot;
    char headers[1024];
    size_t headers_len;
    char body[1024];
    size_t body_len;
};

struct brisk_config {
    const char* greeting; /* NULL: no such key */
};

static int failures;
static char last_log[1024];

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                              \
        }                                                                            \
    } while (0)

static brisk_str str_of(const char* s) {
    brisk_str out;
    out.ptr = s;
    out.len = strlen(s);
    return out;
}

static int str_is(brisk_str s, const char* text) { return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0; }

static void append(char* buf, size_t cap, size_t* len, const void* data, uint64_t n) {
    if (*len + n < cap) {
        memcpy(buf + *len, data, (size_t)n);
        *len += (size_t)n;
        buf[*len] = '\0';
    }
}

static int32_t stub_header(brisk_ctx* ctx, brisk_str name, uint32_t nth, brisk_str* out) {
    (void)ctx, (void)name, (void)nth, (void)out;
    return -1;
}

/* The first "name=value" of the query, without percent-decoding. */
static int32_t stub_query_arg(brisk_ctx* ctx, brisk_str name, brisk_str* out) {
    const char* p = ctx->query;
    while (*p != '\0') {
        const char* end = strchr(p, '&');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char* eq = memchr(p, '=', len);
        size_t key_len = eq != NULL ? (size_t)(eq - p) : len;
        if (key_len == name.len && memcmp(p, name.ptr, key_len) == 0) {
            out->ptr = eq != NULL ? eq + 1 : p + len;
            out->len = eq != NULL ? len - key_len - 1 : 0;
            return 0;
        }
        p += len + (end != NULL ? 1 : 0);
    }
    return -1;
}

static int32_t stub_cookie(brisk_ctx* ctx, brisk_str name, brisk_str* out) {
    (void)ctx, (void)name, (void)out;
    return -1;
}

static void* stub_arena_alloc(brisk_ctx* ctx, uint64_t size) {
    (void)ctx, (void)size;
    return NULL;
}

static void** stub_request_slot(brisk_ctx* ctx) { return &ctx->slot; }

static int32_t stub_set_status(brisk_ctx* ctx, uint32_t status) {
    if (ctx->body_started || status < 100 || status > 599) return -1;
    ctx->status = status;
    return 0;
}

static int32_t stub_add_header(brisk_ctx* ctx, brisk_str name, brisk_str value) {
    if (ctx->body_started) return -1;
    append(ctx->headers, sizeof ctx->headers, &ctx->headers_len, name.ptr, name.len);
    append(ctx->headers, sizeof ctx->headers, &ctx->headers_len, ": ", 2);
    append(ctx->headers, sizeof ctx->headers, &ctx->headers_len, value.ptr, value.len);
    append(ctx->headers, sizeof ctx->headers, &ctx->headers_len, "\n", 1);
    return 0;
}

static int32_t stub_body_copy(brisk_ctx* ctx, const void* data, uint64_t len) {
    ctx->body_started = 1;
    append(ctx->body, sizeof ctx->body, &ctx->body_len, data, len);
    return 0;
}

static int32_t stub_body_ref(brisk_ctx* ctx, const void* data, uint64_t len, void (*release)(void*), void* arg) {
    stub_body_copy(ctx, data, len);
    if (release != NULL) release(arg);
    return 0;
}

static int32_t stub_body_file(brisk_ctx* ctx, int32_t fd, uint64_t offset, uint64_t len) {
    (void)ctx, (void)offset, (void)len;
    close(fd);
    return -1;
}

static int32_t stub_stream_write(brisk_ctx* ctx, const void* data, uint64_t len) {
    return stub_body_copy(ctx, data, len);
}

static void stub_log(brisk_ctx* ctx, int32_t level, brisk_str message) {
    int n = message.len < sizeof last_log ? (int)message.len : (int)sizeof last_log - 1;
    memcpy(last_log, message.ptr, (size_t)n);
    last_log[n] = '\0';
    fprintf(stderr, "harness: log level %d%s: %s\n", (int)level, ctx != NULL ? " (request)" : "", last_log);
}

static int32_t stub_config_string(const brisk_config* cfg, brisk_str key, brisk_str* out) {
    if (cfg->greeting == NULL || !str_is(key, "greeting")) return -1;
    *out = str_of(cfg->greeting);
    return 0;
}

static int32_t stub_config_int(const brisk_config* cfg, brisk_str key, int64_t* out) {
    (void)cfg, (void)key, (void)out;
    return -1;
}

static int32_t stub_config_bool(const brisk_config* cfg, brisk_str key, int32_t* out) {
    (void)cfg, (void)key, (void)out;
    return -1;
}

static int32_t stub_config_double(const brisk_config* cfg, brisk_str key, double* out) {
    (void)cfg, (void)key, (void)out;
    return -1;
}

static brisk_str stub_config_where(const brisk_config* cfg, brisk_str key) {
    (void)cfg, (void)key;
    return str_of("harness.toml:7:1");
}

static brisk_host_api make_host(void) {
    brisk_host_api host;
    memset(&host, 0, sizeof host);
    host.size = (uint32_t)sizeof host;
    host.abi_major = BRISK_PLUGIN_ABI_MAJOR;
    host.abi_minor = BRISK_PLUGIN_ABI_MINOR;
    host.header = stub_header;
    host.query_arg = stub_query_arg;
    host.cookie = stub_cookie;
    host.arena_alloc = stub_arena_alloc;
    host.request_slot = stub_request_slot;
    host.set_status = stub_set_status;
    host.add_header = stub_add_header;
    host.body_copy = stub_body_copy;
    host.body_ref = stub_body_ref;
    host.body_file = stub_body_file;
    host.stream_write = stub_stream_write;
    host.log = stub_log;
    host.config_string = stub_config_string;
    host.config_int = stub_config_int;
    host.config_bool = stub_config_bool;
    host.config_double = stub_config_double;
    host.config_where = stub_config_where;
    return host;
}

/* Calls handle for "GET target" with a fresh context; returns its result. */
static int32_t call(const brisk_plugin_descriptor* d, void* instance, const char* target, brisk_ctx* ctx) {
    const char* q = strchr(target, '?');
    size_t path_len = q != NULL ? (size_t)(q - target) : strlen(target);
    brisk_header host_field;
    brisk_request req;

    memset(ctx, 0, sizeof *ctx);
    ctx->status = 200;
    ctx->query = q != NULL ? q + 1 : "";

    host_field.name = str_of("Host");
    host_field.value = str_of("127.0.0.1");

    memset(&req, 0, sizeof req);
    req.size = (uint32_t)sizeof req;
    req.version = (BRISK_PLUGIN_ABI_MAJOR << 16) | BRISK_PLUGIN_ABI_MINOR;
    req.method = str_of("GET");
    req.target = str_of(target);
    req.path.ptr = target;
    req.path.len = path_len;
    req.query = str_of(ctx->query);
    req.host = host_field.value;
    req.headers = &host_field;
    req.header_count = 1;
    req.http_minor = 1;
    req.remote_addr = str_of("127.0.0.1");
    req.remote_port = 40000;
    req.connection_id = 1;
    req.request_number = 1;
    return d->handle(instance, ctx, &req);
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/librust_example.so\n", argv[0]);
        return 2;
    }
    void* so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (so == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    brisk_plugin_entry_v1_fn entry;
    /* dlsym returns an object pointer; POSIX guarantees the conversion. */
    *(void**)&entry = dlsym(so, BRISK_PLUGIN_ENTRY_V1);
    if (entry == NULL) {
        fprintf(stderr, "dlsym %s: %s\n", BRISK_PLUGIN_ENTRY_V1, dlerror());
        return 1;
    }
    static brisk_host_api host;
    host = make_host();

    /* Refusals: another major, no host table. */
    CHECK(entry(2, 0, &host) == NULL);
    CHECK(entry(1, 0, NULL) == NULL);

    const brisk_plugin_descriptor* d = entry(BRISK_PLUGIN_ABI_MAJOR, BRISK_PLUGIN_ABI_MINOR, &host);
    CHECK(d != NULL);
    if (d == NULL) return 1;
    /* The crate's descriptor is 1.1's, with `stopping`; it runs on a 1.0 host too. */
    CHECK(d->size == sizeof(brisk_plugin_descriptor));
    CHECK(d->abi_major == 1 && d->abi_minor == BRISK_PLUGIN_ABI_MINOR && d->min_host_minor == 0);
    CHECK(d->stopping != NULL);
    CHECK(d->name != NULL && strcmp(d->name, "rust-example") == 0);
    CHECK(d->version != NULL && strcmp(d->version, "1.0.0") == 0);
    CHECK(d->capabilities == 0);
    CHECK(d->create != NULL && d->handle != NULL && d->destroy != NULL);

    /* A refused config: NULL and a one-line reason naming the place. */
    char error[256];
    struct brisk_config bad = {"  "};
    memset(error, 'x', sizeof error);
    CHECK(d->create(&host, &bad, error, sizeof error) == NULL);
    CHECK(strcmp(error, "harness.toml:7:1: greeting must not be empty") == 0);
    /* A tiny buffer still gets a terminated (cut) message. */
    char small[8];
    CHECK(d->create(&host, &bad, small, sizeof small) == NULL);
    CHECK(strcmp(small, "harness") == 0);

    struct brisk_config good = {"Hi"};
    void* instance = d->create(&host, &good, error, sizeof error);
    CHECK(instance != NULL);
    if (instance == NULL) return 1;
    CHECK(d->loop_init == NULL || d->loop_init(instance, 0) == 0);

    static brisk_ctx ctx;
    CHECK(call(d, instance, "/rust/hello?name=x", &ctx) == BRISK_DONE);
    CHECK(ctx.status == 200);
    CHECK(strcmp(ctx.headers, "content-type: text/plain; charset=utf-8\n") == 0);
    CHECK(strcmp(ctx.body, "Hi, x!") == 0);

    CHECK(call(d, instance, "/rust/hello", &ctx) == BRISK_DONE);
    CHECK(strcmp(ctx.body, "Hi, world!") == 0);

    CHECK(call(d, instance, "/rust/elsewhere", &ctx) == BRISK_DECLINE);
    CHECK(ctx.body_len == 0);

    /* The panic stays inside the plugin: an error, a log line, and the
     * instance keeps working. */
    last_log[0] = '\0';
    CHECK(call(d, instance, "/rust/panic", &ctx) == BRISK_ERROR);
    CHECK(strstr(last_log, "panicked") != NULL && strstr(last_log, "on purpose") != NULL);
    CHECK(call(d, instance, "/rust/hello?name=again", &ctx) == BRISK_DONE);
    CHECK(strcmp(ctx.body, "Hi, again!") == 0);

    if (d->loop_fini != NULL) d->loop_fini(instance, 0);
    d->destroy(instance);
    /* Never dlclose a plugin: brisk does not either. */

    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("rust plugin harness: all checks passed\n");
    return 0;
}
