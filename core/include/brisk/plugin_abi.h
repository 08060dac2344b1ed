/*
 * brisk plugin ABI, version 1.2 — the contract between brisk and a handler
 * plugin (a shared object). Pure C99, no dependencies; compiles as C and C++.
 *
 * Promises that hold for every 1.x version of this header:
 *  - A plugin built against ABI 1.x loads on every brisk host of ABI 1.y with
 *    y >= the plugin's `min_host_minor`. A major change renames the entry
 *    symbol (brisk_plugin_entry_v2), so an old plugin is refused by name.
 *  - Structs start with their size. A later minor version adds fields at the
 *    end, after the reserved slots, so `size` tells whether a field is there;
 *    reserved slots are never reused and stay zero. Field types are fixed-width integers,
 *    pointers and the structs below: no enums, bitfields, C++ or Rust types.
 *  - Nothing unwinds across this boundary: a plugin catches its own
 *    exceptions and panics (plugin.hpp and the Rust crate do) and returns
 *    BRISK_ERROR.
 *  - The host function table never changes after the plugin has seen it, and
 *    its functions may be called from any loop thread, concurrently.
 *
 * Lifecycle of one plugin instance (a [plugins.NAME] table; one .so may back
 * several instances with different configs):
 *   brisk_plugin_entry_v1()  once per .so, main thread, at start-up
 *   create()                 once per instance, main thread, with its config
 *   loop_init()              once per loop, on that loop's thread
 *   handle()                 per request, on loop threads (or on a blocking
 *                            thread, see BRISK_CAP_BLOCKING), concurrently
 *   stopping()               once per loop, on its thread, when a stop or a
 *                            reload begins to drain it (ABI 1.1)
 *   loop_fini()              once per loop, on that loop's thread
 *   destroy()                once, main thread
 * The .so is never unloaded while code in it may run.
 */
#ifndef BRISK_PLUGIN_ABI_H
#define BRISK_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRISK_PLUGIN_ABI_MAJOR 1
#define BRISK_PLUGIN_ABI_MINOR 2

/* Visibility for the one exported symbol of a plugin. */
#if defined(__GNUC__)
#define BRISK_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define BRISK_PLUGIN_EXPORT
#endif

/* ---- results ----------------------------------------------------------- */

/** The handler answered (or will, by the response calls it made). */
#define BRISK_DONE 0
/** Not for this handler: the request goes on to the next matching route. */
#define BRISK_DECLINE 1
/** Failure: 500 if nothing was sent yet, else the connection is closed. */
#define BRISK_ERROR (-1)
/** stream_send() refused the bytes for now: wait for the stream's drain callback (ABI 1.1). */
#define BRISK_STREAM_FULL 1

/* Capability flags of a descriptor. */
/** handle() may block (disk, network, locks): it runs on the blocking thread pool. */
#define BRISK_CAP_BLOCKING UINT64_C(1)
/**
 * ABI 1.1: handle() runs as soon as a request's head has arrived, before its
 * body is read (`body` is then empty); the body comes in pieces by
 * body_read(). Not with BRISK_CAP_BLOCKING.
 */
#define BRISK_CAP_BODY_STREAM UINT64_C(2)

/* What config_type() says a key holds (ABI 1.1). */
#define BRISK_CONFIG_ABSENT 0
#define BRISK_CONFIG_STRING 1
#define BRISK_CONFIG_INT 2
#define BRISK_CONFIG_BOOL 3
#define BRISK_CONFIG_DOUBLE 4

/* Log levels of host->log(). */
#define BRISK_LOG_DEBUG 1
#define BRISK_LOG_INFO 2
#define BRISK_LOG_WARN 3
#define BRISK_LOG_ERROR 4

/* ---- views --------------------------------------------------------------- */

/** Bytes owned by someone else; not NUL-terminated. */
typedef struct brisk_str {
    const char* ptr;
    uint64_t len;
} brisk_str;

typedef struct brisk_header {
    brisk_str name;  /* as the client sent it; compare case-insensitively */
    brisk_str value; /* surrounding whitespace removed */
} brisk_header;

/**
 * The request, as views into the connection's read buffer.
 *
 * LIFETIME: every pointer in this struct, and every brisk_str a host function
 * returns for this request, is valid only until handle() returns. Copy what
 * must be kept longer (into the request arena for the rest of the call, or
 * your own memory). Debug and sanitizer builds of brisk overwrite the memory
 * once handle() returns, so a kept view shows up in tests.
 */
typedef struct brisk_request {
    uint32_t size;    /* sizeof(brisk_request) of the host */
    uint32_t version; /* (major << 16) | minor of the host's ABI */
    brisk_str method; /* "GET" */
    brisk_str target; /* "/a/b?x=1", as sent */
    brisk_str path;   /* "/a/b", not percent-decoded */
    brisk_str query;  /* "x=1", without '?'; empty if none */
    brisk_str host;   /* Host field, or the authority of an absolute-form target */
    const brisk_header* headers;
    uint32_t header_count;
    uint32_t http_minor;    /* HTTP/1.<minor>: 0 or 1 */
    brisk_str remote_addr;  /* "203.0.113.7", "2001:db8::1", or "unix" */
    uint16_t remote_port;
    uint16_t reserved0;
    uint32_t loop_index;    /* the loop (thread) serving this connection */
    uint64_t connection_id; /* unique within one brisk process */
    uint64_t request_number; /* 1 for the first request of a connection */
    brisk_str body;         /* the whole body (de-chunked); empty if none */
    uint64_t reserved[8];
    /*
     * ABI 1.2: the connection's TLS. Present when `size` reaches past
     * `alpn`; on a cleartext connection `tls` is 0 and the strings are empty.
     */
    uint32_t tls;               /* 1: the request came over TLS */
    uint32_t reserved1;
    brisk_str tls_protocol;     /* "TLSv1.3", "TLSv1.2" */
    brisk_str tls_cipher;       /* OpenSSL's name: "TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256" */
    brisk_str tls_server_name;  /* the SNI name the client sent; empty if none */
    brisk_str alpn;             /* the protocol ALPN chose ("http/1.1"); empty if none was negotiated */
} brisk_request;

/** Opaque: one request in flight. Valid until handle() returns. */
typedef struct brisk_ctx brisk_ctx;
/** Opaque: an instance's TOML `config` table; valid during create() only. */
typedef struct brisk_config brisk_config;

/**
 * Functions the host offers. Every function taking a brisk_ctx* may only be
 * called during handle() for that request, on the thread running it.
 * Functions returning int32_t return 0 on success, -1 on misuse (a bad
 * argument, a response call after the body was sent).
 */
typedef struct brisk_host_api {
    uint32_t size;
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t reserved0;

    /* -- request ---------------------------------------------------------- */
    /** The nth (0-based) field named `name` (case-insensitive): 0 and *out set, or -1. */
    int32_t (*header)(brisk_ctx* ctx, brisk_str name, uint32_t nth, brisk_str* out);
    /** The first query argument `name`, percent-decoded with '+' as a space: 0 or -1. */
    int32_t (*query_arg)(brisk_ctx* ctx, brisk_str name, brisk_str* out);
    /** The cookie `name` from the Cookie fields (parsed on first use): 0 or -1. */
    int32_t (*cookie)(brisk_ctx* ctx, brisk_str name, brisk_str* out);
    /**
     * Memory freed when handle() returns; 16-byte aligned; NULL if out of
     * memory. Not for body_ref(): its bytes may be sent after that.
     */
    void* (*arena_alloc)(brisk_ctx* ctx, uint64_t size);
    /** A pointer slot for the instance's own per-request state; starts NULL. */
    void** (*request_slot)(brisk_ctx* ctx);

    /* -- response ---------------------------------------------------------- */
    /** Status (200-599; default 200). Before any body call, else -1. */
    int32_t (*set_status)(brisk_ctx* ctx, uint32_t status);
    /**
     * Adds a header field (copied). Date, Server, Content-Length,
     * Transfer-Encoding and Connection are the host's: adding them is -1.
     */
    int32_t (*add_header)(brisk_ctx* ctx, brisk_str name, brisk_str value);
    /** Appends body bytes, copied now. May be called several times. */
    int32_t (*body_copy)(brisk_ctx* ctx, const void* data, uint64_t len);
    /**
     * Sends `data` without copying: it must stay valid and unchanged until
     * `release(arg)` is called (on a loop thread, once the bytes are written
     * or the connection is gone). `release` may be NULL for static data.
     * On -1 nothing was taken and `release` is not called.
     */
    int32_t (*body_ref)(brisk_ctx* ctx, const void* data, uint64_t len, void (*release)(void* arg),
                        void* arg);
    /**
     * Sends `len` bytes of open file `fd` from `offset` with sendfile. The
     * host owns `fd` from this call on, whatever it returns, and closes it.
     */
    int32_t (*body_file)(brisk_ctx* ctx, int32_t fd, uint64_t offset, uint64_t len);
    /**
     * Streams the body: each call is one chunk, framed with the chunked
     * coding on HTTP/1.1 and close-delimited on HTTP/1.0 (the connection
     * closes after it). The chunks leave when handle() returns; a body
     * produced over time is a stream of a suspended request (stream_open,
     * ABI 1.1). Cannot be mixed with the other body calls.
     */
    int32_t (*stream_write)(brisk_ctx* ctx, const void* data, uint64_t len);

    /* -- instance ------------------------------------------------------------ */
    /**
     * Writes into brisk's log, prefixed with the instance name and, with a
     * `ctx`, the request's connection id and number ("[hello] conn=ID req=N:
     * ...", as the access log's $connection and $connection_requests); with
     * `ctx` NULL (outside handle()) the prefix is "plugin".
     */
    void (*log)(brisk_ctx* ctx, int32_t level, brisk_str message);

    /* -- config, during create() only ---------------------------------------- */
    /**
     * Typed lookups in the instance's config table: 0 found, -1 absent or of
     * another type. Keys of nested tables are joined with '.' ("db.host").
     */
    int32_t (*config_string)(const brisk_config* cfg, brisk_str key, brisk_str* out);
    int32_t (*config_int)(const brisk_config* cfg, brisk_str key, int64_t* out);
    int32_t (*config_bool)(const brisk_config* cfg, brisk_str key, int32_t* out);
    int32_t (*config_double)(const brisk_config* cfg, brisk_str key, double* out);
    /** "file:line:column" of `key` in the config file (for error messages), or of the table. */
    brisk_str (*config_where)(const brisk_config* cfg, brisk_str key);

    void* reserved[16];

    /* -- ABI 1.1: answers given later, timers ---------------------------------
     * Present when `size` covers them (a 1.1 host or later). */
    /**
     * During handle(), on its thread: the request is answered later, by
     * resume(), and handle() returns BRISK_DONE (any other result undoes the
     * suspension; `cancel` is then not called). Returns the request's handle
     * (never 0), or 0 when the request cannot be suspended (a blocking
     * instance, a response call made already, a second suspend()).
     *
     * Nothing of the request (brisk_request, ctx, views) may be used after
     * handle() returns: copy what the answer needs. The connection reads no
     * further request until the answer is given.
     *
     * `cancel(arg)` (may be NULL) is called once, on the request's loop
     * thread, when the request will never be answered (or its stream never
     * ended): the client went away (one that half-closes its side counts),
     * the instance's `handler_timeout` passed (the client got 503), a
     * stream's output waited longer than the write timeout, or the
     * connection closed otherwise. It is not called once resume() or
     * stream_end() has returned 0, and after it the handle fails. A
     * graceful stop or a reload waits for suspended requests like for any
     * other (their generation stays loaded); at --shutdown-timeout brisk
     * exits without calling it.
     */
    uint64_t (*suspend)(brisk_ctx* ctx, void (*cancel)(void* arg), void* arg);
    /**
     * The whole answer to a suspended request, from any thread, copied now:
     * status (200-599), header fields (the host's own are refused as for
     * add_header) and body. Never blocks and never waits for the loop.
     * 0: the answer is on its way to the client. -1: nothing was taken: a bad
     * argument, or the handle is not suspended (answered, cancelled, or
     * never valid); such a call touches no memory of the request.
     */
    int32_t (*resume)(uint64_t handle, uint32_t status, const brisk_header* headers, uint32_t header_count,
                      const void* body, uint64_t body_len);
    /**
     * A one-shot timer on the calling loop thread (in handle(), loop_init(),
     * a timer's or a cancel callback): `fire(arg)` runs on that thread once,
     * `ms` milliseconds from now or later. Returns the timer's id (never 0),
     * or 0 off a loop thread. A timer still pending when its loop ends (the
     * server stops, a reload retires the loop) never fires.
     */
    uint64_t (*timer_start)(uint64_t ms, void (*fire)(void* arg), void* arg);
    /**
     * Cancels a timer of the calling loop thread: 0 if it was pending (it
     * will not fire), -1 if it fired already, was cancelled, or is not this
     * thread's.
     */
    int32_t (*timer_cancel)(uint64_t timer);

    /* -- ABI 1.1: responses produced over time ------------------------------
     * A suspended request answered by a stream: the head now, body bytes
     * whenever the plugin has them, then the end. Any thread, like resume();
     * nothing blocks, and bytes from one thread leave in the order given. */
    /**
     * Starts the answer of a suspended request (suspend()'s handle): the
     * status (200-599) and fields (copied; the host's own are refused as for
     * add_header) leave at once. HTTP/1.1 gets a chunked body; HTTP/1.0 a
     * body that ends with the connection (it closes after the end); HEAD,
     * 204 and 304 the head only (the bytes of stream_send() are then taken
     * and dropped). The handler timeout no longer applies; the write timeout
     * does, to output the client does not read.
     *
     * `drain(arg)` (may be NULL) runs on the request's loop thread after a
     * stream_send() was refused, once the stream's bytes not yet written to
     * the client are down to 16 KiB: the moment to send again. Not after
     * the stream ended or was cancelled.
     *
     * 0: the handle is now the stream's (resume() on it fails). -1: nothing
     * was taken: a bad argument, or the handle is not suspended.
     */
    int32_t (*stream_open)(uint64_t handle, uint32_t status, const brisk_header* headers, uint32_t header_count,
                           void (*drain)(void* arg), void* arg);
    /**
     * Body bytes of an open stream, copied now. 0: taken.
     * BRISK_STREAM_FULL: nothing was taken, because the stream holds 64 KiB
     * the client has not read yet (a send into a stream that holds nothing
     * is always taken, whatever its size); send again after `drain`. -1:
     * nothing was taken: a bad argument, or the stream is not open (ended,
     * cancelled, never valid).
     */
    int32_t (*stream_send)(uint64_t handle, const void* data, uint64_t len);
    /**
     * Ends an open stream's body; what was taken before still leaves. 0: the
     * handle is spent (later calls fail, `cancel` is not called). -1: the
     * stream is not open.
     */
    int32_t (*stream_end)(uint64_t handle);

    /* -- ABI 1.1: request bodies as they arrive ------------------------------
     * For an instance with BRISK_CAP_BODY_STREAM. Its handle() sees a
     * request with a body (Content-Length above 0, or chunked) before the
     * body is read, with `body` empty: it decides from the head. To read the
     * body it suspends the request and calls body_read(); answering instead
     * (in handle(), or by resume() before the body's end) answers without
     * reading the rest: brisk sends `Connection: close`, never sends
     * `100 Continue`, and drains what the client still sends before it
     * closes. A body over --max-request-body-size still gets 413 (before
     * handle() when Content-Length says so, else as it passes the limit,
     * with a cancel); a malformed chunked body 400, the client being too slow
     * 408 (--read-timeout), each with a cancel. */
    /**
     * Any thread: asks for the next piece of the body of the suspended
     * request `handle`. The first call sends `100 Continue` to a client that
     * asked for it (Expect: 100-continue). `on_body(arg, data, len, last)`
     * then runs once, on the request's loop thread, with the next bytes,
     * de-chunked (`data` is valid during the call only; `len` may be 0 when
     * `last`); `last` is 1 with the body's end. brisk reads no more of the
     * body from the socket until the next body_read(), which on_body may
     * call itself. 0, or -1: the handle is not suspended (answered,
     * streaming, cancelled: an answer or stream_open() before the body's
     * end gives up the rest), its request has no body to read (not a
     * body-stream instance, or no body), a read is pending already, or the
     * body has ended.
     */
    int32_t (*body_read)(uint64_t handle, void (*on_body)(void* arg, const void* data, uint64_t len, int32_t last),
                         void* arg);

    /* -- ABI 1.1: the instance itself ------------------------------------- */
    /**
     * During create(): what `key` holds, BRISK_CONFIG_*: ABSENT, or the type
     * of its value, so that a plugin can tell a missing key from one of
     * another type (and say so with config_where()).
     */
    int32_t (*config_type)(const brisk_config* cfg, brisk_str key);
    /**
     * During create(): the instance's name (its [plugins.NAME], or the name
     * --plugin gave it); the bytes stay valid for the process's life.
     */
    brisk_str (*config_name)(const brisk_config* cfg);
    /**
     * During create(): a handle for log_to(), for the instance's log lines
     * outside handle() (a plugin thread, a timer, loop_init): valid for the
     * process's life, the same for every generation of the name; 0 only
     * when out of memory (log_to() then prefixes "plugin").
     */
    uint64_t (*log_handle)(const brisk_config* cfg);
    /**
     * Any thread, any time: writes into brisk's log prefixed with the name
     * of the instance `handle` (from log_handle()) as log() does in
     * handle(); an unknown handle gets the prefix "plugin".
     */
    void (*log_to)(uint64_t handle, int32_t level, brisk_str message);
    /**
     * During handle(), on its thread, before any body call: the reason
     * phrase of the answer given there (at most 48 bytes: visible ASCII,
     * spaces and tabs). Without it the status's registered phrase goes out
     * ("I'm a teapot" for 418), or none for a code without one. 0 or -1.
     */
    int32_t (*set_reason)(brisk_ctx* ctx, brisk_str phrase);

    /* -- ABI 1.1: connections taken over (101 Switching Protocols) -----------
     * An upgraded connection is a stream in both directions: the plugin
     * writes with stream_send() (raw bytes, no framing; the same bound and
     * drain), ends it with stream_end() (the connection closes once what was
     * taken has left), and reads through `on_read`. */
    /**
     * Any thread: answers a suspended request that asked for an upgrade (an
     * HTTP/1.1 GET with an Upgrade field and `Connection: upgrade`, no body)
     * with `101 Switching Protocols`, the fields given (checked as for
     * resume(); brisk adds `Connection: Upgrade`), and hands the connection
     * to the plugin. From then `on_read(arg, data, len)` runs on the loop
     * thread with what the client sends (`data` valid during the call only),
     * starting with bytes that came behind the request; `drain` as for
     * stream_open(). No HTTP timeout applies any more but the write
     * timeout (see upgrade_timeout()). When the client closes, the
     * connection fails or the server stops, `cancel` runs (unless the
     * plugin ended the stream before). 0, or -1: nothing was done (a bad
     * argument, the handle is not suspended, or the request did not ask
     * for an upgrade).
     */
    int32_t (*upgrade)(uint64_t handle, const brisk_header* headers, uint32_t header_count,
                       void (*on_read)(void* arg, const void* data, uint64_t len), void (*drain)(void* arg),
                       void* arg);
    /**
     * Any thread: an upgraded connection on which nothing arrives for `ms`
     * milliseconds is closed (with the cancel callback); 0 turns it off
     * (the default). 0, or -1 if the handle is not an upgraded connection.
     */
    int32_t (*upgrade_timeout)(uint64_t handle, uint64_t ms);

    /* -- ABI 1.1: connections taken out of brisk (like fasthttp's Hijack) ----
     * The socket itself goes to the plugin, which speaks on it as it likes
     * with its own system calls, on any thread. */
    /**
     * Any thread: takes the connection of the suspended request `handle`
     * out of brisk (a request without a body, or whose body was read to its
     * end). Once the answers to earlier pipelined requests have left,
     * `taken(arg, fd, data, len)` runs once on the loop thread with the
     * socket (non-blocking, close-on-exec) and the bytes brisk had read
     * past the request (`data` valid during the call only). From then brisk
     * neither reads nor writes it, nor times it out; the request gets no
     * answer from brisk and no access-log line. The connection stays
     * counted by --concurrency and --max-conns-per-ip, and its generation
     * loaded, until hijack_close(handle), the one way to close it: the
     * plugin never calls close(2) on `fd`. If the connection fails before
     * the hand-over, `cancel` runs instead of `taken`. A graceful stop or a
     * reload waits for a taken connection like for any other: a plugin
     * closes it when stopping() is called (at --shutdown-timeout brisk
     * exits). 0, or -1: nothing was done (a bad argument, the handle is not
     * suspended, a body is unread, or the connection speaks TLS: its keys
     * are brisk's).
     */
    int32_t (*hijack)(uint64_t handle, void (*taken)(void* arg, int32_t fd, const void* data, uint64_t len),
                      void* arg);
    /**
     * Any thread: closes a connection taken by hijack() (the socket closes
     * on its loop, at once) and gives its place under the limits back. 0, or
     * -1 if `handle` is not a taken connection (closed already, or never).
     */
    int32_t (*hijack_close)(uint64_t handle);

    /* -- ABI 1.1: why a call refused -------------------------------------- */
    /**
     * Any thread: why the last host call of this thread that refused (-1,
     * or 0 from suspend() and timer_start()) did so, as a short English
     * phrase ("a header field brisk sets itself"); static bytes, valid for
     * the process's life. Empty when no call of this thread has refused.
     */
    brisk_str (*last_error)(void);
} brisk_host_api;

/**
 * What a plugin is, returned by its entry point. Static storage: the host
 * reads it at load time and keeps the pointer.
 */
typedef struct brisk_plugin_descriptor {
    uint32_t size;           /* sizeof(brisk_plugin_descriptor) of the plugin */
    uint32_t abi_major;      /* BRISK_PLUGIN_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;      /* BRISK_PLUGIN_ABI_MINOR the plugin was built with */
    uint32_t min_host_minor; /* oldest host minor it runs on (<= abi_minor) */
    const char* name;        /* "hello" */
    const char* version;     /* the plugin's own version, "1.2.0" */
    uint64_t capabilities;   /* BRISK_CAP_* */

    /**
     * Creates an instance from its config. On failure returns NULL and writes
     * a one-line reason to `error` (at most `error_len` bytes, the NUL
     * included); use host->config_where() to name the place in the file.
     */
    void* (*create)(const brisk_host_api* host, const brisk_config* config, char* error, uint64_t error_len);
    /**
     * Optional (NULL): per-loop set-up, on the loop's thread. Non-zero fails
     * start-up. A blocking instance's handle() runs on pool threads, several
     * of which may serve requests of the same loop_index at once.
     */
    int32_t (*loop_init)(void* instance, uint32_t loop_index);
    /**
     * Answers one request: BRISK_DONE, BRISK_DECLINE or BRISK_ERROR. For
     * HEAD, answer as for GET: the host sends the head, with the Content-Length
     * the body would have, and drops the body.
     */
    int32_t (*handle)(void* instance, brisk_ctx* ctx, const brisk_request* request);
    /** Optional (NULL): per-loop tear-down, on the loop's thread. */
    void (*loop_fini)(void* instance, uint32_t loop_index);
    /** Optional (NULL): frees the instance, main thread. */
    void (*destroy)(void* instance);

    void* reserved[8];

    /* -- ABI 1.1 (read when `size` covers it) -------------------------------- */
    /**
     * Optional (NULL): the server stops (SIGTERM, SIGINT) or this
     * generation retires (SIGHUP reload): called once on each loop thread,
     * as its connections begin to drain. Suspended requests, streams and
     * upgraded connections of that loop should finish now (answer, end,
     * close: a WebSocket's 1001, say). brisk waits for them until
     * --shutdown-timeout; what is still open then is closed without any call.
     */
    void (*stopping)(void* instance, uint32_t loop_index);
} brisk_plugin_descriptor;

/**
 * The entry point every plugin exports (extern "C"). `host_abi_major` and
 * `host_abi_minor` are the host's ABI; `host` stays valid for the process's
 * life. Returns the plugin's static descriptor, or NULL to refuse loading.
 */
typedef const brisk_plugin_descriptor* (*brisk_plugin_entry_v1_fn)(uint32_t host_abi_major,
                                                                    uint32_t host_abi_minor,
                                                                    const brisk_host_api* host);
#define BRISK_PLUGIN_ENTRY_V1 "brisk_plugin_entry_v1"

/* Declared here so that a plugin defining it with another signature, or
 * without C linkage, fails to compile. */
BRISK_PLUGIN_EXPORT const brisk_plugin_descriptor* brisk_plugin_entry_v1(uint32_t host_abi_major,
                                                                          uint32_t host_abi_minor,
                                                                          const brisk_host_api* host);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BRISK_PLUGIN_ABI_H */
