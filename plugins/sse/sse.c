/*
 * brisk — the sse plugin (plugin ABI 1.1): server-sent events. A GET
 * answers 200 with Content-Type text/event-stream and Cache-Control
 * no-cache, then one event every `interval`:
 *
 *   data: 0
 *
 *   data: 1
 *   ...
 *
 * from a timer on the request's loop (no thread). The stream ends after
 * `count` events, or never; a client that leaves ends it too (brisk cancels
 * the stream, and the plugin drops its timer). A client slower than the
 * events gets them at its own pace: an event that finds the stream full
 * waits for brisk's drain callback, and the next one is due `interval`
 * after it left.
 *
 * HEAD gets the head only; other methods get 405 with Allow: GET, HEAD.
 * When brisk stops, or a reload retires this generation, every open stream
 * ends at once (its last chunk), so the stop need not wait.
 *
 * Config ([plugins.NAME.config]):
 *   interval  time between events: milliseconds as an integer (1 to
 *             3600000), or a string with a unit, "250ms", "1s", "2m"
 *             (default 1s)
 *   count     events before the stream ends (0: endless; default 0)
 */
#include <brisk/plugin_abi.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSE_MAX_INTERVAL_MS 3600000
#define SSE_MAX_LOOPS 1024

struct sse_stream;

static const brisk_host_api* host;

typedef struct sse_config {
    uint64_t interval_ms;
    uint64_t count; /* 0: endless */
    /* The open streams of each loop (each list is touched by its loop's thread only), for stopping(). */
    struct sse_stream* open[SSE_MAX_LOOPS];
} sse_config;

/* One open stream: what its timer, its drain and its cancel callbacks share (all on its loop). */
typedef struct sse_stream {
    sse_config* config;
    struct sse_stream* prev; /* in config->open[loop] */
    struct sse_stream* after;
    uint32_t loop;
    uint64_t handle; /* the suspended request's, then its stream's */
    uint64_t timer;  /* 0 while none is pending */
    uint64_t next;   /* the number of the next event */
} sse_stream;

static brisk_str lit(const char* s) {
    brisk_str out;
    out.ptr = s;
    out.len = strlen(s);
    return out;
}

static void sse_tick(void* arg);

/* After one event left (or the stream opened): the next one, `interval` from now. */
static int sse_schedule(sse_stream* s) {
    s->timer = host->timer_start(s->config->interval_ms, sse_tick, s);
    return s->timer != 0 ? 0 : -1;
}

/* Its state goes (out of its loop's list first). */
static void sse_free(sse_stream* s) {
    if (s->loop < SSE_MAX_LOOPS) {
        if (s->prev)
            s->prev->after = s->after;
        else if (s->config->open[s->loop] == s)
            s->config->open[s->loop] = s->after;
        if (s->after) s->after->prev = s->prev;
    }
    free(s);
}

/* The stream is over on our side: its end (if it was still open), and its state goes. */
static void sse_finish(sse_stream* s) {
    (void)host->stream_end(s->handle);
    sse_free(s);
}

/* Sends the next event; on a full stream, waits for the drain callback instead. */
static void sse_send(sse_stream* s) {
    char event[40];
    int n = snprintf(event, sizeof event, "data: %llu\n\n", (unsigned long long)s->next);
    int32_t rc = host->stream_send(s->handle, event, (uint64_t)(n > 0 ? n : 0));
    if (rc == BRISK_STREAM_FULL) return; /* sse_drain sends it again */
    /* -1 cannot be: a stream that is gone was cancelled, with its timer, and `s` freed then. */
    if (rc != 0) return;
    ++s->next;
    if (s->config->count != 0 && s->next >= s->config->count) {
        sse_finish(s);
        return;
    }
    if (sse_schedule(s) != 0) sse_finish(s);
}

static void sse_tick(void* arg) {
    sse_stream* s = (sse_stream*)arg;
    s->timer = 0;
    sse_send(s);
}

/* The client read enough of what was waiting: the event that found the stream full goes now. */
static void sse_drain(void* arg) { sse_send((sse_stream*)arg); }

/* brisk will not take more (the client left, the write timeout passed, the server stops). */
static void sse_cancel(void* arg) {
    sse_stream* s = (sse_stream*)arg;
    if (s->timer != 0) (void)host->timer_cancel(s->timer);
    sse_free(s);
}

/* brisk stops (or this generation retires): this loop's streams end now. */
static void sse_stopping(void* instance, uint32_t loop) {
    sse_config* c = (sse_config*)instance;
    if (loop >= SSE_MAX_LOOPS) return;
    while (c->open[loop]) {
        sse_stream* s = c->open[loop];
        if (s->timer != 0) (void)host->timer_cancel(s->timer);
        sse_finish(s);
    }
}

static int32_t text(brisk_ctx* ctx, uint32_t status, const char* allow, const char* body) {
    if (host->set_status(ctx, status) != 0 ||
        host->add_header(ctx, lit("Content-Type"), lit("text/plain; charset=utf-8")) != 0 ||
        (allow && host->add_header(ctx, lit("Allow"), lit(allow)) != 0) ||
        host->body_copy(ctx, body, strlen(body)) != 0)
        return BRISK_ERROR;
    return BRISK_DONE;
}

static int is_method(const brisk_request* r, const char* m) {
    return r->method.len == strlen(m) && memcmp(r->method.ptr, m, r->method.len) == 0;
}

static int32_t sse_handle(void* instance, brisk_ctx* ctx, const brisk_request* request) {
    brisk_header fields[2];
    sse_stream* s;
    const int head = is_method(request, "HEAD");
    if (!head && !is_method(request, "GET")) return text(ctx, 405, "GET, HEAD", "Method Not Allowed\n");
    s = (sse_stream*)calloc(1, sizeof *s);
    if (!s) return BRISK_ERROR;
    s->config = (sse_config*)instance;
    s->loop = SSE_MAX_LOOPS; /* not listed (yet) */
    s->handle = host->suspend(ctx, sse_cancel, s);
    if (s->handle == 0) {
        free(s);
        return BRISK_ERROR;
    }
    fields[0].name = lit("Content-Type");
    fields[0].value = lit("text/event-stream");
    fields[1].name = lit("Cache-Control");
    fields[1].value = lit("no-cache");
    /* Before handle() returns, a failure undoes the suspension (500) and calls no callback. */
    if (host->stream_open(s->handle, 200, fields, 2, sse_drain, s) != 0 || (!head && sse_schedule(s) != 0)) {
        free(s);
        return BRISK_ERROR;
    }
    if (head) {
        sse_finish(s); /* the head is the whole answer */
        return BRISK_DONE;
    }
    s->loop = request->loop_index;
    if (s->loop < SSE_MAX_LOOPS) {
        s->after = s->config->open[s->loop];
        if (s->after) s->after->prev = s;
        s->config->open[s->loop] = s;
    }
    return BRISK_DONE;
}

/* A duration: an integer of milliseconds, or a string with a unit (ms, s, m); 0 on error. */
static uint64_t parse_interval(const brisk_config* config) {
    int64_t ms;
    brisk_str v;
    uint64_t n = 0, i, unit;
    if (host->config_int(config, lit("interval"), &ms) == 0) return ms > 0 ? (uint64_t)ms : 0;
    if (host->config_string(config, lit("interval"), &v) != 0) return 0;
    for (i = 0; i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9' && n <= SSE_MAX_INTERVAL_MS; ++i)
        n = n * 10 + (uint64_t)(v.ptr[i] - '0');
    if (i == 0) return 0;
    if (v.len - i == 2 && memcmp(v.ptr + i, "ms", 2) == 0)
        unit = 1;
    else if (v.len - i == 1 && v.ptr[i] == 's')
        unit = 1000;
    else if (v.len - i == 1 && v.ptr[i] == 'm')
        unit = 60000;
    else
        return 0;
    return n <= SSE_MAX_INTERVAL_MS ? n * unit : 0;
}

static int has_key(const brisk_config* config, const char* key) {
    brisk_str s;
    int64_t i;
    int32_t b;
    double d;
    return host->config_string(config, lit(key), &s) == 0 || host->config_int(config, lit(key), &i) == 0 ||
           host->config_bool(config, lit(key), &b) == 0 || host->config_double(config, lit(key), &d) == 0;
}

static void* sse_create(const brisk_host_api* api, const brisk_config* config, char* error, uint64_t error_len) {
    sse_config* c;
    int64_t count = 0;
    brisk_str where;
    if (api->size < offsetof(brisk_host_api, stream_end) + sizeof api->stream_end) {
        snprintf(error, (size_t)error_len, "needs a brisk host of plugin ABI 1.1 or newer");
        return NULL;
    }
    c = (sse_config*)calloc(1, sizeof *c);
    if (!c) return NULL;
    c->interval_ms = has_key(config, "interval") ? parse_interval(config) : 1000;
    if (c->interval_ms == 0 || c->interval_ms > SSE_MAX_INTERVAL_MS) {
        where = host->config_where(config, lit("interval"));
        snprintf(error, (size_t)error_len,
                 "%.*s: interval: give milliseconds (1 to 3600000) or a string such as \"250ms\", \"1s\", \"2m\"",
                 (int)where.len, where.ptr);
        free(c);
        return NULL;
    }
    if (has_key(config, "count") && (host->config_int(config, lit("count"), &count) != 0 || count < 0)) {
        where = host->config_where(config, lit("count"));
        snprintf(error, (size_t)error_len, "%.*s: count: give a whole number of events, 0 for endless", (int)where.len,
                 where.ptr);
        free(c);
        return NULL;
    }
    c->count = (uint64_t)count;
    return c;
}

static void sse_destroy(void* instance) { free(instance); }

static const brisk_plugin_descriptor descriptor = {
    sizeof(brisk_plugin_descriptor),
    BRISK_PLUGIN_ABI_MAJOR,
    BRISK_PLUGIN_ABI_MINOR,
    1, /* min_host_minor: suspend, timers and streams */
    "sse",
    "1.0.0",
    0,
    sse_create,
    NULL,
    sse_handle,
    NULL,
    sse_destroy,
    {NULL},
    sse_stopping,
};

BRISK_PLUGIN_EXPORT const brisk_plugin_descriptor* brisk_plugin_entry_v1(uint32_t host_abi_major,
                                                                         uint32_t host_abi_minor,
                                                                         const brisk_host_api* api) {
    if (host_abi_major != BRISK_PLUGIN_ABI_MAJOR || host_abi_minor < 1) return NULL;
    host = api;
    return &descriptor;
}
