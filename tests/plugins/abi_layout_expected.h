/*
 * brisk — the layout of every public struct of plugin_abi.h on x86-64
 * Linux (LP64, System V), written down once. abi_layout.c checks it as C,
 * abi_layout_test.cpp as C++: a change to a size or an offset fails both.
 * A field appended at a struct's end (its size grows; 1.1 appended the
 * host API's suspend, resume, timers, streams, body reads and instance
 * calls; 1.2 the request's TLS fields) comes with a minor version; any
 * other change of a number here changes the ABI: bump BRISK_PLUGIN_ABI_MAJOR.
 */
#ifndef BRISK_ABI_LAYOUT_EXPECTED_H
#define BRISK_ABI_LAYOUT_EXPECTED_H

#include <brisk/plugin_abi.h>
#include <stddef.h>

/* X(type, sizeof, alignof) */
#define BRISK_ABI_SIZES(X)    \
    X(brisk_str, 16, 8)       \
    X(brisk_header, 32, 8)    \
    X(brisk_request, 296, 8)  \
    X(brisk_host_api, 424, 8) \
    X(brisk_plugin_descriptor, 152, 8)

/* X(type, field, offsetof) — every field, in order. */
#define BRISK_ABI_OFFSETS(X)                       \
    X(brisk_str, ptr, 0)                           \
    X(brisk_str, len, 8)                           \
    X(brisk_header, name, 0)                       \
    X(brisk_header, value, 16)                     \
    X(brisk_request, size, 0)                      \
    X(brisk_request, version, 4)                   \
    X(brisk_request, method, 8)                    \
    X(brisk_request, target, 24)                   \
    X(brisk_request, path, 40)                     \
    X(brisk_request, query, 56)                    \
    X(brisk_request, host, 72)                     \
    X(brisk_request, headers, 88)                  \
    X(brisk_request, header_count, 96)             \
    X(brisk_request, http_minor, 100)              \
    X(brisk_request, remote_addr, 104)             \
    X(brisk_request, remote_port, 120)             \
    X(brisk_request, reserved0, 122)               \
    X(brisk_request, loop_index, 124)              \
    X(brisk_request, connection_id, 128)           \
    X(brisk_request, request_number, 136)          \
    X(brisk_request, body, 144)                    \
    X(brisk_request, reserved, 160)                \
    X(brisk_request, tls, 224)                     \
    X(brisk_request, reserved1, 228)               \
    X(brisk_request, tls_protocol, 232)            \
    X(brisk_request, tls_cipher, 248)              \
    X(brisk_request, tls_server_name, 264)         \
    X(brisk_request, alpn, 280)                    \
    X(brisk_host_api, size, 0)                     \
    X(brisk_host_api, abi_major, 4)                \
    X(brisk_host_api, abi_minor, 8)                \
    X(brisk_host_api, reserved0, 12)               \
    X(brisk_host_api, header, 16)                  \
    X(brisk_host_api, query_arg, 24)               \
    X(brisk_host_api, cookie, 32)                  \
    X(brisk_host_api, arena_alloc, 40)             \
    X(brisk_host_api, request_slot, 48)            \
    X(brisk_host_api, set_status, 56)              \
    X(brisk_host_api, add_header, 64)              \
    X(brisk_host_api, body_copy, 72)               \
    X(brisk_host_api, body_ref, 80)                \
    X(brisk_host_api, body_file, 88)               \
    X(brisk_host_api, stream_write, 96)            \
    X(brisk_host_api, log, 104)                    \
    X(brisk_host_api, config_string, 112)          \
    X(brisk_host_api, config_int, 120)             \
    X(brisk_host_api, config_bool, 128)            \
    X(brisk_host_api, config_double, 136)          \
    X(brisk_host_api, config_where, 144)           \
    X(brisk_host_api, reserved, 152)               \
    X(brisk_host_api, suspend, 280)                \
    X(brisk_host_api, resume, 288)                 \
    X(brisk_host_api, timer_start, 296)            \
    X(brisk_host_api, timer_cancel, 304)           \
    X(brisk_host_api, stream_open, 312)            \
    X(brisk_host_api, stream_send, 320)            \
    X(brisk_host_api, stream_end, 328)             \
    X(brisk_host_api, body_read, 336)              \
    X(brisk_host_api, config_type, 344)            \
    X(brisk_host_api, config_name, 352)            \
    X(brisk_host_api, log_handle, 360)             \
    X(brisk_host_api, log_to, 368)                 \
    X(brisk_host_api, set_reason, 376)             \
    X(brisk_host_api, upgrade, 384)                \
    X(brisk_host_api, upgrade_timeout, 392)        \
    X(brisk_host_api, hijack, 400)                 \
    X(brisk_host_api, hijack_close, 408)           \
    X(brisk_host_api, last_error, 416)             \
    X(brisk_plugin_descriptor, size, 0)            \
    X(brisk_plugin_descriptor, abi_major, 4)       \
    X(brisk_plugin_descriptor, abi_minor, 8)       \
    X(brisk_plugin_descriptor, min_host_minor, 12) \
    X(brisk_plugin_descriptor, name, 16)           \
    X(brisk_plugin_descriptor, version, 24)        \
    X(brisk_plugin_descriptor, capabilities, 32)   \
    X(brisk_plugin_descriptor, create, 40)         \
    X(brisk_plugin_descriptor, loop_init, 48)      \
    X(brisk_plugin_descriptor, handle, 56)         \
    X(brisk_plugin_descriptor, loop_fini, 64)      \
    X(brisk_plugin_descriptor, destroy, 72)        \
    X(brisk_plugin_descriptor, reserved, 80)       \
    X(brisk_plugin_descriptor, stopping, 144)

/* X(name, value) — constants whose values are part of the ABI. */
#define BRISK_ABI_CONSTANTS(X)  \
    X(BRISK_DONE, 0)            \
    X(BRISK_DECLINE, 1)         \
    X(BRISK_ERROR, -1)          \
    X(BRISK_CAP_BLOCKING, 1)    \
    X(BRISK_CAP_BODY_STREAM, 2) \
    X(BRISK_LOG_DEBUG, 1)       \
    X(BRISK_LOG_INFO, 2)        \
    X(BRISK_LOG_WARN, 3)        \
    X(BRISK_LOG_ERROR, 4)       \
    X(BRISK_STREAM_FULL, 1)     \
    X(BRISK_CONFIG_ABSENT, 0)   \
    X(BRISK_CONFIG_STRING, 1)   \
    X(BRISK_CONFIG_INT, 2)      \
    X(BRISK_CONFIG_BOOL, 3)     \
    X(BRISK_CONFIG_DOUBLE, 4)

#ifdef __cplusplus
extern "C" {
#endif

/* The layout as the C compiler sees it: sizes/alignments in BRISK_ABI_SIZES
 * order, offsets in BRISK_ABI_OFFSETS order. Return the number written. */
size_t brisk_abi_c_sizes(size_t* out, size_t cap);
size_t brisk_abi_c_offsets(size_t* out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* BRISK_ABI_LAYOUT_EXPECTED_H */
