//! The plugin ABI 1.2, mirrored from `core/include/brisk/plugin_abi.h`.
//!
//! Every struct is `#[repr(C)]` with the fields of the header in the same
//! order, so it has the same layout (the tests at the bottom check sizes,
//! alignments and offsets on x86-64). Nullable function pointers are
//! `Option<unsafe extern "C" fn ...>`, which Rust guarantees is one pointer
//! with `None` as NULL. The names are the C names, so the header reads as
//! the documentation of this module.

#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_void};

pub const BRISK_PLUGIN_ABI_MAJOR: u32 = 1;
pub const BRISK_PLUGIN_ABI_MINOR: u32 = 2;

/// The handler answered (or will, by the response calls it made).
pub const BRISK_DONE: i32 = 0;
/// Not for this handler: the request goes on to the next matching route.
pub const BRISK_DECLINE: i32 = 1;
/// Failure: 500 if nothing was sent yet, else the connection is closed.
pub const BRISK_ERROR: i32 = -1;

/// `stream_send()` took nothing: the stream holds 64 KiB the client has not read.
pub const BRISK_STREAM_FULL: i32 = 1;

/// `handle()` may block: it runs on the blocking thread pool.
pub const BRISK_CAP_BLOCKING: u64 = 1;
/// ABI 1.1: `handle()` sees a request's head before its body, which it reads with `body_read()`.
pub const BRISK_CAP_BODY_STREAM: u64 = 2;

/// ABI 1.1: what `config_type()` finds under a key.
pub const BRISK_CONFIG_ABSENT: i32 = 0;
pub const BRISK_CONFIG_STRING: i32 = 1;
pub const BRISK_CONFIG_INT: i32 = 2;
pub const BRISK_CONFIG_BOOL: i32 = 3;
pub const BRISK_CONFIG_DOUBLE: i32 = 4;

pub const BRISK_LOG_DEBUG: i32 = 1;
pub const BRISK_LOG_INFO: i32 = 2;
pub const BRISK_LOG_WARN: i32 = 3;
pub const BRISK_LOG_ERROR: i32 = 4;

/// Name of the entry symbol of ABI major 1, NUL-terminated (for `dlsym`).
pub const BRISK_PLUGIN_ENTRY_V1: &core::ffi::CStr = c"brisk_plugin_entry_v1";

/// Bytes owned by someone else; not NUL-terminated.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct brisk_str {
    pub ptr: *const c_char,
    pub len: u64,
}

impl brisk_str {
    /// A view of `bytes`; it lives as long as `bytes` does.
    pub const fn from_bytes(bytes: &[u8]) -> brisk_str {
        brisk_str { ptr: bytes.as_ptr() as *const c_char, len: bytes.len() as u64 }
    }

    pub const fn empty() -> brisk_str {
        brisk_str { ptr: core::ptr::null(), len: 0 }
    }

    /// The viewed bytes (empty for a NULL pointer).
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that stay valid and unchanged
    /// for `'a`.
    pub unsafe fn as_bytes<'a>(self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            &[]
        } else {
            core::slice::from_raw_parts(self.ptr as *const u8, self.len as usize)
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct brisk_header {
    /// As the client sent it; compare case-insensitively.
    pub name: brisk_str,
    /// Surrounding whitespace removed.
    pub value: brisk_str,
}

/// The request, as views into the connection's read buffer. Every pointer is
/// valid only until `handle()` returns.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct brisk_request {
    pub size: u32,
    pub version: u32,
    pub method: brisk_str,
    pub target: brisk_str,
    pub path: brisk_str,
    pub query: brisk_str,
    pub host: brisk_str,
    pub headers: *const brisk_header,
    pub header_count: u32,
    pub http_minor: u32,
    pub remote_addr: brisk_str,
    pub remote_port: u16,
    pub reserved0: u16,
    pub loop_index: u32,
    pub connection_id: u64,
    pub request_number: u64,
    pub body: brisk_str,
    pub reserved: [u64; 8],
    // ABI 1.2: the connection's TLS, present when `size` reaches past `alpn`.
    pub tls: u32,
    pub reserved1: u32,
    pub tls_protocol: brisk_str,
    pub tls_cipher: brisk_str,
    pub tls_server_name: brisk_str,
    pub alpn: brisk_str,
}

/// Opaque: one request in flight. Valid until `handle()` returns.
#[repr(C)]
pub struct brisk_ctx {
    _opaque: [u8; 0],
    _not_send_sync: core::marker::PhantomData<*mut u8>,
}

/// Opaque: an instance's TOML `config` table; valid during `create()` only.
#[repr(C)]
pub struct brisk_config {
    _opaque: [u8; 0],
    _not_send_sync: core::marker::PhantomData<*mut u8>,
}

pub type brisk_release_fn = unsafe extern "C" fn(arg: *mut c_void);
/// ABI 1.1 callbacks: a cancel, a drain or a timer (`arg` only).
pub type brisk_callback_fn = unsafe extern "C" fn(arg: *mut c_void);
/// ABI 1.1: a piece of a request body (`body_read`).
pub type brisk_body_fn = unsafe extern "C" fn(arg: *mut c_void, data: *const c_void, len: u64, last: i32);
/// ABI 1.1: what the client of an upgraded connection sent (`upgrade`).
pub type brisk_read_fn = unsafe extern "C" fn(arg: *mut c_void, data: *const c_void, len: u64);
/// ABI 1.1: the socket of a hijacked connection (`hijack`).
pub type brisk_taken_fn = unsafe extern "C" fn(arg: *mut c_void, fd: i32, data: *const c_void, len: u64);

/// Functions the host offers. See the header for the rules of each.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct brisk_host_api {
    pub size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub reserved0: u32,

    pub header:
        Option<unsafe extern "C" fn(ctx: *mut brisk_ctx, name: brisk_str, nth: u32, out: *mut brisk_str) -> i32>,
    pub query_arg: Option<unsafe extern "C" fn(ctx: *mut brisk_ctx, name: brisk_str, out: *mut brisk_str) -> i32>,
    pub cookie: Option<unsafe extern "C" fn(ctx: *mut brisk_ctx, name: brisk_str, out: *mut brisk_str) -> i32>,
    pub arena_alloc: Option<unsafe extern "C" fn(ctx: *mut brisk_ctx, size: u64) -> *mut c_void>,
    pub request_slot: Option<unsafe extern "C" fn(ctx: *mut brisk_ctx) -> *mut *mut c_void>,

    pub set_status: Option<unsafe extern "C" fn(ctx: *mut brisk_ctx, status: u32) -> i32>,
    pub add_header: Option<unsafe extern "C" fn(ctx: *mut brisk_ctx, name: brisk_str, value: brisk_str) -> i32>,
    pub body_copy: Option<unsafe extern "C" fn(ctx: *mut brisk_ctx, data: *const c_void, len: u64) -> i32>,
    pub body_ref: Option<
        unsafe extern "C" fn(
            ctx: *mut brisk_ctx,
            data: *const c_void,
            len: u64,
            release: Option<brisk_release_fn>,
            arg: *mut c_void,
        ) -> i32,
    >,
    pub body_file: Option<unsafe extern "C" fn(ctx: *mut brisk_ctx, fd: i32, offset: u64, len: u64) -> i32>,
    pub stream_write: Option<unsafe extern "C" fn(ctx: *mut brisk_ctx, data: *const c_void, len: u64) -> i32>,

    pub log: Option<unsafe extern "C" fn(ctx: *mut brisk_ctx, level: i32, message: brisk_str)>,

    pub config_string:
        Option<unsafe extern "C" fn(cfg: *const brisk_config, key: brisk_str, out: *mut brisk_str) -> i32>,
    pub config_int: Option<unsafe extern "C" fn(cfg: *const brisk_config, key: brisk_str, out: *mut i64) -> i32>,
    pub config_bool: Option<unsafe extern "C" fn(cfg: *const brisk_config, key: brisk_str, out: *mut i32) -> i32>,
    pub config_double: Option<unsafe extern "C" fn(cfg: *const brisk_config, key: brisk_str, out: *mut f64) -> i32>,
    pub config_where: Option<unsafe extern "C" fn(cfg: *const brisk_config, key: brisk_str) -> brisk_str>,

    pub reserved: [*mut c_void; 16],

    // -- ABI 1.1 (present when `size` covers them) --
    pub suspend:
        Option<unsafe extern "C" fn(ctx: *mut brisk_ctx, cancel: Option<brisk_callback_fn>, arg: *mut c_void) -> u64>,
    pub resume: Option<
        unsafe extern "C" fn(
            handle: u64,
            status: u32,
            headers: *const brisk_header,
            header_count: u32,
            body: *const c_void,
            body_len: u64,
        ) -> i32,
    >,
    pub timer_start: Option<unsafe extern "C" fn(ms: u64, fire: Option<brisk_callback_fn>, arg: *mut c_void) -> u64>,
    pub timer_cancel: Option<unsafe extern "C" fn(timer: u64) -> i32>,
    pub stream_open: Option<
        unsafe extern "C" fn(
            handle: u64,
            status: u32,
            headers: *const brisk_header,
            header_count: u32,
            drain: Option<brisk_callback_fn>,
            arg: *mut c_void,
        ) -> i32,
    >,
    pub stream_send: Option<unsafe extern "C" fn(handle: u64, data: *const c_void, len: u64) -> i32>,
    pub stream_end: Option<unsafe extern "C" fn(handle: u64) -> i32>,
    pub body_read: Option<unsafe extern "C" fn(handle: u64, on_body: Option<brisk_body_fn>, arg: *mut c_void) -> i32>,
    pub config_type: Option<unsafe extern "C" fn(cfg: *const brisk_config, key: brisk_str) -> i32>,
    pub config_name: Option<unsafe extern "C" fn(cfg: *const brisk_config) -> brisk_str>,
    pub log_handle: Option<unsafe extern "C" fn(cfg: *const brisk_config) -> u64>,
    pub log_to: Option<unsafe extern "C" fn(handle: u64, level: i32, message: brisk_str)>,
    pub set_reason: Option<unsafe extern "C" fn(ctx: *mut brisk_ctx, phrase: brisk_str) -> i32>,
    pub upgrade: Option<
        unsafe extern "C" fn(
            handle: u64,
            headers: *const brisk_header,
            header_count: u32,
            on_read: Option<brisk_read_fn>,
            drain: Option<brisk_callback_fn>,
            arg: *mut c_void,
        ) -> i32,
    >,
    pub upgrade_timeout: Option<unsafe extern "C" fn(handle: u64, ms: u64) -> i32>,
    pub hijack: Option<unsafe extern "C" fn(handle: u64, taken: Option<brisk_taken_fn>, arg: *mut c_void) -> i32>,
    pub hijack_close: Option<unsafe extern "C" fn(handle: u64) -> i32>,
    pub last_error: Option<unsafe extern "C" fn() -> brisk_str>,
}

impl brisk_host_api {
    /// Whether the table has every function of ABI 1.1 (a 1.1 host or later).
    pub fn has_1_1(&self) -> bool {
        self.size as usize >= core::mem::size_of::<brisk_host_api>()
    }
}

pub type brisk_create_fn = unsafe extern "C" fn(
    host: *const brisk_host_api,
    config: *const brisk_config,
    error: *mut c_char,
    error_len: u64,
) -> *mut c_void;
pub type brisk_loop_init_fn = unsafe extern "C" fn(instance: *mut c_void, loop_index: u32) -> i32;
pub type brisk_handle_fn =
    unsafe extern "C" fn(instance: *mut c_void, ctx: *mut brisk_ctx, request: *const brisk_request) -> i32;
pub type brisk_loop_fini_fn = unsafe extern "C" fn(instance: *mut c_void, loop_index: u32);
pub type brisk_destroy_fn = unsafe extern "C" fn(instance: *mut c_void);
pub type brisk_stopping_fn = unsafe extern "C" fn(instance: *mut c_void, loop_index: u32);

/// What a plugin is, returned by its entry point. Static storage.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct brisk_plugin_descriptor {
    pub size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub min_host_minor: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub capabilities: u64,

    pub create: Option<brisk_create_fn>,
    pub loop_init: Option<brisk_loop_init_fn>,
    pub handle: Option<brisk_handle_fn>,
    pub loop_fini: Option<brisk_loop_fini_fn>,
    pub destroy: Option<brisk_destroy_fn>,

    pub reserved: [*mut c_void; 8],

    // -- ABI 1.1 --
    pub stopping: Option<brisk_stopping_fn>,
}

/// The type of `brisk_plugin_entry_v1`.
pub type brisk_plugin_entry_v1_fn = unsafe extern "C" fn(
    host_abi_major: u32,
    host_abi_minor: u32,
    host: *const brisk_host_api,
) -> *const brisk_plugin_descriptor;

#[cfg(all(test, target_arch = "x86_64", target_os = "linux"))]
mod layout_tests {
    //! The numbers are those of plugin_abi.h compiled by a C compiler for
    //! x86-64 Linux (LP64): `offsetof`, `sizeof` and `_Alignof`.
    use super::*;
    use core::mem::{align_of, offset_of, size_of};

    #[test]
    fn brisk_str_layout() {
        assert_eq!(size_of::<brisk_str>(), 16);
        assert_eq!(align_of::<brisk_str>(), 8);
        assert_eq!(offset_of!(brisk_str, ptr), 0);
        assert_eq!(offset_of!(brisk_str, len), 8);
    }

    #[test]
    fn brisk_header_layout() {
        assert_eq!(size_of::<brisk_header>(), 32);
        assert_eq!(align_of::<brisk_header>(), 8);
        assert_eq!(offset_of!(brisk_header, name), 0);
        assert_eq!(offset_of!(brisk_header, value), 16);
    }

    #[test]
    fn brisk_request_layout() {
        assert_eq!(size_of::<brisk_request>(), 296);
        assert_eq!(align_of::<brisk_request>(), 8);
        assert_eq!(offset_of!(brisk_request, size), 0);
        assert_eq!(offset_of!(brisk_request, version), 4);
        assert_eq!(offset_of!(brisk_request, method), 8);
        assert_eq!(offset_of!(brisk_request, target), 24);
        assert_eq!(offset_of!(brisk_request, path), 40);
        assert_eq!(offset_of!(brisk_request, query), 56);
        assert_eq!(offset_of!(brisk_request, host), 72);
        assert_eq!(offset_of!(brisk_request, headers), 88);
        assert_eq!(offset_of!(brisk_request, header_count), 96);
        assert_eq!(offset_of!(brisk_request, http_minor), 100);
        assert_eq!(offset_of!(brisk_request, remote_addr), 104);
        assert_eq!(offset_of!(brisk_request, remote_port), 120);
        assert_eq!(offset_of!(brisk_request, reserved0), 122);
        assert_eq!(offset_of!(brisk_request, loop_index), 124);
        assert_eq!(offset_of!(brisk_request, connection_id), 128);
        assert_eq!(offset_of!(brisk_request, request_number), 136);
        assert_eq!(offset_of!(brisk_request, body), 144);
        assert_eq!(offset_of!(brisk_request, reserved), 160);
        assert_eq!(offset_of!(brisk_request, tls), 224);
        assert_eq!(offset_of!(brisk_request, reserved1), 228);
        assert_eq!(offset_of!(brisk_request, tls_protocol), 232);
        assert_eq!(offset_of!(brisk_request, tls_cipher), 248);
        assert_eq!(offset_of!(brisk_request, tls_server_name), 264);
        assert_eq!(offset_of!(brisk_request, alpn), 280);
    }

    #[test]
    fn brisk_host_api_layout() {
        assert_eq!(size_of::<brisk_host_api>(), 424);
        assert_eq!(align_of::<brisk_host_api>(), 8);
        assert_eq!(offset_of!(brisk_host_api, size), 0);
        assert_eq!(offset_of!(brisk_host_api, abi_major), 4);
        assert_eq!(offset_of!(brisk_host_api, abi_minor), 8);
        assert_eq!(offset_of!(brisk_host_api, reserved0), 12);
        assert_eq!(offset_of!(brisk_host_api, header), 16);
        assert_eq!(offset_of!(brisk_host_api, query_arg), 24);
        assert_eq!(offset_of!(brisk_host_api, cookie), 32);
        assert_eq!(offset_of!(brisk_host_api, arena_alloc), 40);
        assert_eq!(offset_of!(brisk_host_api, request_slot), 48);
        assert_eq!(offset_of!(brisk_host_api, set_status), 56);
        assert_eq!(offset_of!(brisk_host_api, add_header), 64);
        assert_eq!(offset_of!(brisk_host_api, body_copy), 72);
        assert_eq!(offset_of!(brisk_host_api, body_ref), 80);
        assert_eq!(offset_of!(brisk_host_api, body_file), 88);
        assert_eq!(offset_of!(brisk_host_api, stream_write), 96);
        assert_eq!(offset_of!(brisk_host_api, log), 104);
        assert_eq!(offset_of!(brisk_host_api, config_string), 112);
        assert_eq!(offset_of!(brisk_host_api, config_int), 120);
        assert_eq!(offset_of!(brisk_host_api, config_bool), 128);
        assert_eq!(offset_of!(brisk_host_api, config_double), 136);
        assert_eq!(offset_of!(brisk_host_api, config_where), 144);
        assert_eq!(offset_of!(brisk_host_api, reserved), 152);
        assert_eq!(offset_of!(brisk_host_api, suspend), 280);
        assert_eq!(offset_of!(brisk_host_api, resume), 288);
        assert_eq!(offset_of!(brisk_host_api, timer_start), 296);
        assert_eq!(offset_of!(brisk_host_api, timer_cancel), 304);
        assert_eq!(offset_of!(brisk_host_api, stream_open), 312);
        assert_eq!(offset_of!(brisk_host_api, stream_send), 320);
        assert_eq!(offset_of!(brisk_host_api, stream_end), 328);
        assert_eq!(offset_of!(brisk_host_api, body_read), 336);
        assert_eq!(offset_of!(brisk_host_api, config_type), 344);
        assert_eq!(offset_of!(brisk_host_api, config_name), 352);
        assert_eq!(offset_of!(brisk_host_api, log_handle), 360);
        assert_eq!(offset_of!(brisk_host_api, log_to), 368);
        assert_eq!(offset_of!(brisk_host_api, set_reason), 376);
        assert_eq!(offset_of!(brisk_host_api, upgrade), 384);
        assert_eq!(offset_of!(brisk_host_api, upgrade_timeout), 392);
        assert_eq!(offset_of!(brisk_host_api, hijack), 400);
        assert_eq!(offset_of!(brisk_host_api, hijack_close), 408);
        assert_eq!(offset_of!(brisk_host_api, last_error), 416);
    }

    #[test]
    fn brisk_plugin_descriptor_layout() {
        assert_eq!(size_of::<brisk_plugin_descriptor>(), 152);
        assert_eq!(align_of::<brisk_plugin_descriptor>(), 8);
        assert_eq!(offset_of!(brisk_plugin_descriptor, size), 0);
        assert_eq!(offset_of!(brisk_plugin_descriptor, abi_major), 4);
        assert_eq!(offset_of!(brisk_plugin_descriptor, abi_minor), 8);
        assert_eq!(offset_of!(brisk_plugin_descriptor, min_host_minor), 12);
        assert_eq!(offset_of!(brisk_plugin_descriptor, name), 16);
        assert_eq!(offset_of!(brisk_plugin_descriptor, version), 24);
        assert_eq!(offset_of!(brisk_plugin_descriptor, capabilities), 32);
        assert_eq!(offset_of!(brisk_plugin_descriptor, create), 40);
        assert_eq!(offset_of!(brisk_plugin_descriptor, loop_init), 48);
        assert_eq!(offset_of!(brisk_plugin_descriptor, handle), 56);
        assert_eq!(offset_of!(brisk_plugin_descriptor, loop_fini), 64);
        assert_eq!(offset_of!(brisk_plugin_descriptor, destroy), 72);
        assert_eq!(offset_of!(brisk_plugin_descriptor, reserved), 80);
        assert_eq!(offset_of!(brisk_plugin_descriptor, stopping), 144);
    }

    #[test]
    fn nullable_function_pointers_are_one_pointer() {
        assert_eq!(size_of::<Option<brisk_handle_fn>>(), size_of::<*const c_void>());
    }
}
