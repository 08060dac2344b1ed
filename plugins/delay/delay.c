/*
 * brisk — the delay plugin (plugin ABI 1.1): GET ...?ms=N answers 200 after
 * N milliseconds (0 to 60000), from a timer on the request's loop: no thread
 * waits, and the loop serves other requests meanwhile.
 *
 *   200 text/plain  "waited N ms\n"
 *   400 text/plain  when ms is missing, not a whole number, or over 60000
 *
 * A request whose client leaves before the answer is cancelled by brisk:
 * the plugin then drops its timer. No config.
 */
#include <brisk/plugin_abi.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELAY_MAX_MS 60000

static const brisk_host_api* host;

/* One waiting request: what its timer and its cancel callback share. */
typedef struct waiting {
    uint64_t request; /* the suspended request's handle */
    uint64_t timer;
    uint64_t ms;
} waiting;

static brisk_str lit(const char* s) {
    brisk_str out;
    out.ptr = s;
    out.len = strlen(s);
    return out;
}

/* The timer fired, on the request's loop: the answer. */
static void delay_fire(void* arg) {
    waiting* w = (waiting*)arg;
    char body[48];
    int n = snprintf(body, sizeof body, "waited %llu ms\n", (unsigned long long)w->ms);
    brisk_header type;
    type.name = lit("Content-Type");
    type.value = lit("text/plain; charset=utf-8");
    /* -1 cannot happen here: a cancelled request's timer was cancelled with it. */
    (void)host->resume(w->request, 200, &type, 1, body, (uint64_t)(n > 0 ? n : 0));
    free(w);
}

/* brisk will not take an answer any more (the client left, or the server stops). */
static void delay_cancel(void* arg) {
    waiting* w = (waiting*)arg;
    (void)host->timer_cancel(w->timer);
    free(w);
}

/* 0 and *out set for a whole number of at most DELAY_MAX_MS; -1 otherwise. */
static int parse_ms(brisk_str s, uint64_t* out) {
    uint64_t v = 0, i;
    if (s.len == 0 || s.len > 5) return -1;
    for (i = 0; i < s.len; ++i) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s.ptr[i] - '0');
    }
    if (v > DELAY_MAX_MS) return -1;
    *out = v;
    return 0;
}

static int32_t text(brisk_ctx* ctx, uint32_t status, const char* body) {
    if (host->set_status(ctx, status) != 0 ||
        host->add_header(ctx, lit("Content-Type"), lit("text/plain; charset=utf-8")) != 0 ||
        host->body_copy(ctx, body, strlen(body)) != 0)
        return BRISK_ERROR;
    return BRISK_DONE;
}

static int32_t delay_handle(void* instance, brisk_ctx* ctx, const brisk_request* request) {
    brisk_str arg;
    uint64_t ms;
    waiting* w;
    (void)instance;
    (void)request;
    if (host->query_arg(ctx, lit("ms"), &arg) != 0 || parse_ms(arg, &ms) != 0)
        return text(ctx, 400, "ms: give a whole number of milliseconds, 0 to 60000\n");
    w = (waiting*)calloc(1, sizeof *w);
    if (!w) return BRISK_ERROR;
    w->ms = ms;
    w->request = host->suspend(ctx, delay_cancel, w);
    if (w->request != 0) w->timer = host->timer_start(ms, delay_fire, w);
    if (w->request == 0 || w->timer == 0) {
        free(w);
        return BRISK_ERROR; /* undoes the suspension: 500 */
    }
    return BRISK_DONE;
}

static void* delay_create(const brisk_host_api* api, const brisk_config* config, char* error, uint64_t error_len) {
    (void)config;
    if (api->size < offsetof(brisk_host_api, timer_cancel) + sizeof api->timer_cancel) {
        snprintf(error, (size_t)error_len, "needs a brisk host of plugin ABI 1.1 or newer");
        return NULL;
    }
    return (void*)&host; /* no state of its own */
}

static const brisk_plugin_descriptor descriptor = {
    sizeof(brisk_plugin_descriptor),
    BRISK_PLUGIN_ABI_MAJOR,
    BRISK_PLUGIN_ABI_MINOR,
    1, /* min_host_minor: suspend and timers */
    "delay",
    "1.0.0",
    0,
    delay_create,
    NULL,
    delay_handle,
    NULL,
    NULL,
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
