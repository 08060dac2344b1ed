//! The request a handler answers: zero-copy views into brisk's buffer.

use crate::abi::{brisk_ctx, brisk_header, brisk_host_api, brisk_request, brisk_str};
use crate::plugin::{host_log, Level};
use core::marker::PhantomData;

/// One request, borrowed for the duration of `handle`.
///
/// Every `&'a [u8]` / `&'a str` it returns points into brisk's buffers and is
/// valid until `handle` returns: copy (`to_vec`, `to_owned`) what must be
/// kept longer. Views are not NUL-terminated, not percent-decoded (except
/// [`query_arg`](Request::query_arg)), and not guaranteed to be UTF-8: the
/// `*_str` variants return `None` for bytes that are not.
///
/// A view cannot be kept past `handle`:
///
/// ```compile_fail
/// use brisk_plugin::{Config, Outcome, Plugin, Request, Response};
/// use std::sync::Mutex;
/// struct Keep(Mutex<Vec<&'static [u8]>>);
/// impl Plugin for Keep {
///     fn create(_: &Config) -> Result<Self, String> {
///         Ok(Keep(Mutex::new(Vec::new())))
///     }
///     fn handle(&self, req: &Request, _: &mut Response) -> Outcome {
///         self.0.lock().unwrap().push(req.path());
///         Outcome::Done
///     }
/// }
/// ```
///
/// nor handed to another thread:
///
/// ```compile_fail
/// fn send<T: Send>() {}
/// send::<brisk_plugin::Request<'static>>();
/// ```
///
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// sync::<brisk_plugin::Response<'static>>();
/// ```
pub struct Request<'a> {
    raw: &'a brisk_request,
    ctx: *mut brisk_ctx,
    host: &'a brisk_host_api,
    // Host calls must stay on the thread running handle: not Send, not Sync.
    _thread_bound: PhantomData<*mut brisk_ctx>,
}

impl<'a> Request<'a> {
    /// # Safety
    /// `raw` and `ctx` are the arguments of one `handle` call, `host` the
    /// host's table, and the value does not outlive that call.
    pub unsafe fn from_raw(raw: &'a brisk_request, ctx: *mut brisk_ctx, host: &'a brisk_host_api) -> Self {
        Request { raw, ctx, host, _thread_bound: PhantomData }
    }

    fn view(&self, s: brisk_str) -> &'a [u8] {
        // SAFETY: the host promises the views of a request are valid until
        // handle returns, which 'a does not outlive.
        unsafe { s.as_bytes() }
    }

    /// "GET", "POST", ...
    pub fn method(&self) -> &'a [u8] {
        self.view(self.raw.method)
    }

    /// The request target as sent: "/a/b?x=1".
    pub fn target(&self) -> &'a [u8] {
        self.view(self.raw.target)
    }

    /// The path of the target, not percent-decoded: "/a/b". Routes do not
    /// strip their prefix: a plugin mounted at "/api/" sees "/api/users".
    pub fn path(&self) -> &'a [u8] {
        self.view(self.raw.path)
    }

    /// The query without '?': "x=1"; empty if none.
    pub fn query(&self) -> &'a [u8] {
        self.view(self.raw.query)
    }

    /// The Host field, or the authority of an absolute-form target.
    pub fn host(&self) -> &'a [u8] {
        self.view(self.raw.host)
    }

    /// The whole body, de-chunked; empty if none.
    pub fn body(&self) -> &'a [u8] {
        self.view(self.raw.body)
    }

    pub fn method_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.method()).ok()
    }

    pub fn target_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.target()).ok()
    }

    pub fn path_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.path()).ok()
    }

    pub fn query_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.query()).ok()
    }

    pub fn host_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.host()).ok()
    }

    pub fn body_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.body()).ok()
    }

    /// The `nth` (0-based) header field called `name` (case-insensitive).
    pub fn header(&self, name: impl AsRef<[u8]>, nth: u32) -> Option<&'a [u8]> {
        let f = self.host.header?;
        let mut out = brisk_str::empty();
        // SAFETY: ctx belongs to this request; name outlives the call.
        let rc = unsafe { f(self.ctx, brisk_str::from_bytes(name.as_ref()), nth, &mut out) };
        (rc == 0).then(|| self.view(out))
    }

    /// The first header field called `name`, if it is UTF-8.
    pub fn header_str(&self, name: impl AsRef<[u8]>) -> Option<&'a str> {
        self.header(name, 0).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// The first query argument `name`, percent-decoded by brisk.
    pub fn query_arg(&self, name: impl AsRef<[u8]>) -> Option<&'a [u8]> {
        let f = self.host.query_arg?;
        let mut out = brisk_str::empty();
        // SAFETY: as in header().
        let rc = unsafe { f(self.ctx, brisk_str::from_bytes(name.as_ref()), &mut out) };
        (rc == 0).then(|| self.view(out))
    }

    /// [`query_arg`](Request::query_arg), if it is UTF-8.
    pub fn query_arg_str(&self, name: impl AsRef<[u8]>) -> Option<&'a str> {
        self.query_arg(name).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// The cookie `name` from the Cookie fields.
    pub fn cookie(&self, name: impl AsRef<[u8]>) -> Option<&'a [u8]> {
        let f = self.host.cookie?;
        let mut out = brisk_str::empty();
        // SAFETY: as in header().
        let rc = unsafe { f(self.ctx, brisk_str::from_bytes(name.as_ref()), &mut out) };
        (rc == 0).then(|| self.view(out))
    }

    /// [`cookie`](Request::cookie), if it is UTF-8.
    pub fn cookie_str(&self, name: impl AsRef<[u8]>) -> Option<&'a str> {
        self.cookie(name).and_then(|v| core::str::from_utf8(v).ok())
    }

    /// Every header field in the order sent, as (name, value).
    pub fn headers(&self) -> Headers<'a> {
        let fields: &'a [brisk_header] = if self.raw.headers.is_null() || self.raw.header_count == 0 {
            &[]
        } else {
            // SAFETY: the host's array of header_count fields, valid for 'a.
            unsafe { core::slice::from_raw_parts(self.raw.headers, self.raw.header_count as usize) }
        };
        Headers { fields: fields.iter() }
    }

    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub fn http_minor(&self) -> u32 {
        self.raw.http_minor
    }

    /// "203.0.113.7", "2001:db8::1" or "unix".
    pub fn remote_addr(&self) -> &'a [u8] {
        self.view(self.raw.remote_addr)
    }

    pub fn remote_port(&self) -> u16 {
        self.raw.remote_port
    }

    /// The event loop serving the connection: an index for per-loop state.
    pub fn loop_index(&self) -> u32 {
        self.raw.loop_index
    }

    /// Unique within one brisk process.
    pub fn connection_id(&self) -> u64 {
        self.raw.connection_id
    }

    /// 1 for the first request of a connection.
    pub fn request_number(&self) -> u64 {
        self.raw.request_number
    }

    /// ABI 1.2: the TLS fields are there (an older host has no TLS listeners).
    fn has_tls_fields(&self) -> bool {
        self.raw.size as usize >= core::mem::offset_of!(brisk_request, alpn) + core::mem::size_of::<brisk_str>()
    }

    /// ABI 1.2: the string at `field` when the host has the TLS fields, else empty.
    fn tls_field(&self, field: brisk_str) -> &'a [u8] {
        if self.has_tls_fields() {
            self.view(field)
        } else {
            &[]
        }
    }

    /// ABI 1.2: the request came over TLS.
    pub fn tls(&self) -> bool {
        self.has_tls_fields() && self.raw.tls != 0
    }

    /// ABI 1.2: "TLSv1.3", "TLSv1.2"; empty for cleartext.
    pub fn tls_protocol(&self) -> &'a [u8] {
        self.tls_field(self.raw.tls_protocol)
    }

    /// ABI 1.2: OpenSSL's name of the cipher; empty for cleartext.
    pub fn tls_cipher(&self) -> &'a [u8] {
        self.tls_field(self.raw.tls_cipher)
    }

    /// ABI 1.2: the SNI name the client sent; empty if none.
    pub fn tls_server_name(&self) -> &'a [u8] {
        self.tls_field(self.raw.tls_server_name)
    }

    /// ABI 1.2: the protocol ALPN chose (`http/1.1`); empty if none was negotiated.
    pub fn alpn(&self) -> &'a [u8] {
        self.tls_field(self.raw.alpn)
    }

    /// "https" or "http", as the client sees this request's connection.
    pub fn scheme(&self) -> &'static str {
        if self.tls() {
            "https"
        } else {
            "http"
        }
    }

    /// Writes into brisk's log, prefixed with the instance name.
    pub fn log(&self, level: Level, message: &str) {
        host_log(self.host, self.ctx, level, message)
    }

    /// The raw request, for what the safe API does not cover.
    pub fn raw(&self) -> &'a brisk_request {
        self.raw
    }

    /// The raw context, for the host functions the safe API does not cover
    /// (`arena_alloc`, `request_slot`). Only valid during this `handle`.
    pub fn ctx(&self) -> *mut brisk_ctx {
        self.ctx
    }

    /// The host's function table.
    pub fn host_api(&self) -> &'a brisk_host_api {
        self.host
    }
}

impl core::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Request")
            .field("method", &String::from_utf8_lossy(self.method()))
            .field("target", &String::from_utf8_lossy(self.target()))
            .field("connection_id", &self.connection_id())
            .field("request_number", &self.request_number())
            .finish_non_exhaustive()
    }
}

/// Iterator over the header fields of a request: (name, value) views.
#[derive(Clone)]
pub struct Headers<'a> {
    fields: core::slice::Iter<'a, brisk_header>,
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY: header views live as long as the request ('a).
        self.fields.next().map(|h| unsafe { (h.name.as_bytes(), h.value.as_bytes()) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.fields.size_hint()
    }
}

impl DoubleEndedIterator for Headers<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        // SAFETY: as in next().
        self.fields.next_back().map(|h| unsafe { (h.name.as_bytes(), h.value.as_bytes()) })
    }
}

impl ExactSizeIterator for Headers<'_> {}
impl core::iter::FusedIterator for Headers<'_> {}
