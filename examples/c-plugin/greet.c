/*
 * brisk — greet, an example plugin in plain C99 using only plugin_abi.h.
 *
 *   GET /hello?name=Ada  ->  200 text/plain  "Hello, Ada! You are visitor 1.\n"
 *
 * Config (optional): greeting = "Hi" (default "Hello"), 1 to 64 bytes.
 * The visitor count is per instance and shared by every loop thread.
 */
#include <brisk/plugin_abi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GREETING_MAX 64
#define NAME_MAX_LEN 64

typedef struct greet {
    char greeting[GREETING_MAX + 1];
    uint64_t visitors; /* updated with __atomic builtins (GCC, Clang) */
} greet;

/* The host's function table, kept by the entry point for the process's life. */
static const brisk_host_api* host;

static brisk_str lit(const char* s) {
    brisk_str out;
    out.ptr = s;
    out.len = strlen(s);
    return out;
}

/* Fails create(): "FILE:LINE:COL: greeting: WHY" into `error`. */
static void* greet_fail(const brisk_host_api* api, const brisk_config* config, char* error, uint64_t error_len,
                        const char* why) {
    brisk_str where = api->config_where(config, lit("greeting"));
    snprintf(error, (size_t)error_len, "%.*s: greeting: %s", (int)where.len, where.len ? where.ptr : "", why);
    return NULL;
}

static void* greet_create(const brisk_host_api* api, const brisk_config* config, char* error, uint64_t error_len) {
    brisk_str value;
    greet* self;

    if (api->config_string(config, lit("greeting"), &value) != 0) {
        int64_t i;
        int32_t b;
        double d;
        if (api->config_int(config, lit("greeting"), &i) == 0 || api->config_bool(config, lit("greeting"), &b) == 0 ||
            api->config_double(config, lit("greeting"), &d) == 0)
            return greet_fail(api, config, error, error_len, "must be a string");
        value = lit("Hello");
    }
    if (value.len == 0 || value.len > GREETING_MAX)
        return greet_fail(api, config, error, error_len, "must be 1 to 64 bytes");

    self = (greet*)calloc(1, sizeof *self);
    if (self == NULL) {
        snprintf(error, (size_t)error_len, "out of memory");
        return NULL;
    }
    /* The config's strings live during create() only: copy. */
    memcpy(self->greeting, value.ptr, (size_t)value.len);
    self->greeting[value.len] = '\0';
    return self;
}

static int32_t greet_handle(void* instance, brisk_ctx* ctx, const brisk_request* request) {
    greet* self = (greet*)instance;
    brisk_str name = lit("world");
    uint64_t visitor;
    char* body;
    int len;
    size_t cap;

    if (!(request->method.len == 3 && memcmp(request->method.ptr, "GET", 3) == 0)) return BRISK_DECLINE;

    if (host->query_arg(ctx, lit("name"), &name) != 0 || name.len == 0) name = lit("world");
    if (name.len > NAME_MAX_LEN) {
        static const char too_long[] = "name: at most 64 bytes\n";
        if (host->set_status(ctx, 400) != 0 || host->add_header(ctx, lit("Content-Type"), lit("text/plain")) != 0 ||
            host->body_copy(ctx, too_long, sizeof too_long - 1) != 0)
            return BRISK_ERROR;
        return BRISK_DONE;
    }

    visitor = __atomic_add_fetch(&self->visitors, 1, __ATOMIC_RELAXED);

    /* Request memory: freed by brisk when handle() returns (so body_copy, not body_ref). */
    cap = GREETING_MAX + NAME_MAX_LEN + 64;
    body = (char*)host->arena_alloc(ctx, cap);
    if (body == NULL) return BRISK_ERROR;
    len = snprintf(body, cap, "%s, %.*s! You are visitor %llu.\n", self->greeting, (int)name.len, name.ptr,
                   (unsigned long long)visitor);
    if (len < 0 || (size_t)len >= cap) return BRISK_ERROR;

    if (host->add_header(ctx, lit("Content-Type"), lit("text/plain; charset=utf-8")) != 0 ||
        host->body_copy(ctx, body, (uint64_t)len) != 0)
        return BRISK_ERROR;
    return BRISK_DONE;
}

static void greet_destroy(void* instance) { free(instance); }

/* Designated initializers: fields a later minor version appends stay zero. */
static const brisk_plugin_descriptor descriptor = {
    .size = sizeof(brisk_plugin_descriptor),
    .abi_major = BRISK_PLUGIN_ABI_MAJOR,
    .abi_minor = BRISK_PLUGIN_ABI_MINOR,
    .min_host_minor = 0,
    .name = "greet",
    .version = "1.0.0",
    .capabilities = 0, /* handle() never blocks */
    .create = greet_create,
    .handle = greet_handle,
    .destroy = greet_destroy,
};

BRISK_PLUGIN_EXPORT const brisk_plugin_descriptor* brisk_plugin_entry_v1(uint32_t host_abi_major,
                                                                         uint32_t host_abi_minor,
                                                                         const brisk_host_api* api);

BRISK_PLUGIN_EXPORT const brisk_plugin_descriptor* brisk_plugin_entry_v1(uint32_t host_abi_major,
                                                                         uint32_t host_abi_minor,
                                                                         const brisk_host_api* api) {
    if (host_abi_major != BRISK_PLUGIN_ABI_MAJOR || host_abi_minor < descriptor.min_host_minor || api == NULL)
        return NULL;
    host = api;
    return &descriptor;
}
