//! A fake brisk host, to unit-test a plugin without a server.
//!
//! It drives the plugin through the same C trampolines brisk calls, so panics,
//! outcomes and the response calls behave as they will in brisk, and it
//! applies the host's rules to response calls (status and headers before the
//! body, no streaming mixed with other body calls, brisk's own headers
//! refused).
//!
//! ```
//! use brisk_plugin::testing::{TestConfig, TestPlugin, TestRequest};
//! # use brisk_plugin::{Config, Outcome, Plugin, Request, Response};
//! # struct Hello;
//! # impl Plugin for Hello {
//! #     fn create(_: &Config) -> Result<Self, String> { Ok(Hello) }
//! #     fn handle(&self, req: &Request, res: &mut Response) -> Outcome {
//! #         let name = req.query_arg_str("name").unwrap_or("world");
//! #         res.write(format!("Hello, {name}!")).into()
//! #     }
//! # }
//! let plugin = TestPlugin::<Hello>::create(&TestConfig::new()).unwrap();
//! let res = plugin.call(&TestRequest::get("/hello?name=x"));
//! assert_eq!(res.status, 200);
//! assert_eq!(res.text(), "Hello, x!");
//! ```
//!
//! ABI 1.1: a request the plugin suspends comes back with
//! [`TestResponse::suspended`] set; what the plugin answers later (from any
//! thread) is [`later`]`(handle)`. [`cancel`] plays the client leaving,
//! [`client_read`] a client that read a stream's bytes (the drain runs if a
//! send was refused), [`feed_body`] the body of a body-stream request
//! arriving, [`client_send`] the client of an upgraded connection sending,
//! [`hand_over`] brisk handing a hijacked socket over (the test gets the
//! client's end of a socket pair), and [`advance`] the loop's clock for
//! timers. The later state is process-wide, shared by every test thread:
//! each test only looks at the handles it got.

use crate::abi::*;
use crate::glue::{descriptor, Descriptor};
use crate::plugin::remember_host;
use crate::{Level, Outcome, Plugin};
use core::cell::{Cell, RefCell};
use core::ffi::{c_char, c_void};
use core::marker::PhantomData;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;

/// A value of a [`TestConfig`].
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(String),
    Int(i64),
    Bool(bool),
    Float(f64),
}

/// The `config` table handed to `create`. Each key is placed on its own line
/// of a pretend "test.toml" (the table at line 1, keys from line 2), which is
/// what [`Config::location`](crate::Config::location) reports.
#[derive(Clone, Debug, Default)]
pub struct TestConfig {
    entries: Vec<(String, Value, String)>,
}

impl TestConfig {
    pub fn new() -> TestConfig {
        TestConfig::default()
    }

    pub fn set(mut self, key: &str, value: Value) -> TestConfig {
        let at = format!("test.toml:{}:1", self.entries.len() + 2);
        self.entries.push((key.to_owned(), value, at));
        self
    }

    pub fn string(self, key: &str, value: &str) -> TestConfig {
        self.set(key, Value::String(value.to_owned()))
    }

    pub fn int(self, key: &str, value: i64) -> TestConfig {
        self.set(key, Value::Int(value))
    }

    pub fn bool(self, key: &str, value: bool) -> TestConfig {
        self.set(key, Value::Bool(value))
    }

    pub fn float(self, key: &str, value: f64) -> TestConfig {
        self.set(key, Value::Float(value))
    }

    fn find(&self, key: &[u8]) -> Option<&(String, Value, String)> {
        self.entries.iter().find(|(k, _, _)| k.as_bytes() == key)
    }
}

/// A request to hand to [`TestPlugin::call`].
#[derive(Clone, Debug)]
pub struct TestRequest {
    method: Vec<u8>,
    target: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    http_minor: u32,
    remote_addr: Vec<u8>,
    remote_port: u16,
    loop_index: u32,
    connection_id: u64,
    request_number: u64,
    tls: Option<TestTls>,
}

/// ABI 1.2: what a request over TLS carries ([`TestRequest::over_tls`]).
#[derive(Clone, Debug)]
struct TestTls {
    protocol: Vec<u8>,
    cipher: Vec<u8>,
    server_name: Vec<u8>,
    alpn: Vec<u8>,
}

impl TestRequest {
    /// `target` is origin-form, "/a/b?x=1"; bytes need not be UTF-8.
    pub fn new(method: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> TestRequest {
        TestRequest {
            method: method.as_ref().to_vec(),
            target: target.as_ref().to_vec(),
            headers: Vec::new(),
            body: Vec::new(),
            http_minor: 1,
            remote_addr: b"127.0.0.1".to_vec(),
            remote_port: 40000,
            loop_index: 0,
            connection_id: 1,
            request_number: 1,
            tls: None,
        }
    }

    pub fn get(target: impl AsRef<[u8]>) -> TestRequest {
        TestRequest::new("GET", target)
    }

    pub fn post(target: impl AsRef<[u8]>, body: impl AsRef<[u8]>) -> TestRequest {
        TestRequest::new("POST", target).body(body)
    }

    pub fn header(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> TestRequest {
        self.headers.push((name.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }

    pub fn body(mut self, body: impl AsRef<[u8]>) -> TestRequest {
        self.body = body.as_ref().to_vec();
        self
    }

    pub fn http_minor(mut self, minor: u32) -> TestRequest {
        self.http_minor = minor;
        self
    }

    pub fn remote(mut self, addr: &str, port: u16) -> TestRequest {
        self.remote_addr = addr.as_bytes().to_vec();
        self.remote_port = port;
        self
    }

    pub fn loop_index(mut self, index: u32) -> TestRequest {
        self.loop_index = index;
        self
    }

    pub fn connection(mut self, connection_id: u64, request_number: u64) -> TestRequest {
        self.connection_id = connection_id;
        self.request_number = request_number;
        self
    }

    /// As if it came over TLS 1.3 (TLS_AES_128_GCM_SHA256, ALPN http/1.1) with SNI name `server_name` (empty: none).
    pub fn over_tls(self, server_name: impl AsRef<[u8]>) -> TestRequest {
        self.over_tls_with(server_name, "TLSv1.3", "TLS_AES_128_GCM_SHA256", "http/1.1")
    }

    /// As if it came over TLS with the given SNI name, protocol version, cipher and ALPN protocol.
    pub fn over_tls_with(
        mut self,
        server_name: impl AsRef<[u8]>,
        protocol: impl AsRef<[u8]>,
        cipher: impl AsRef<[u8]>,
        alpn: impl AsRef<[u8]>,
    ) -> TestRequest {
        self.tls = Some(TestTls {
            protocol: protocol.as_ref().to_vec(),
            cipher: cipher.as_ref().to_vec(),
            server_name: server_name.as_ref().to_vec(),
            alpn: alpn.as_ref().to_vec(),
        });
        self
    }

    fn split_target(&self) -> (&[u8], &[u8]) {
        match self.target.iter().position(|&b| b == b'?') {
            Some(q) => (&self.target[..q], &self.target[q + 1..]),
            None => (&self.target[..], &[]),
        }
    }

    fn header_value(&self, name: &[u8], nth: usize) -> Option<&[u8]> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).nth(nth).map(|(_, v)| v.as_slice())
    }
}

/// What the plugin did with a [`TestRequest`].
#[derive(Clone, Debug)]
pub struct TestResponse {
    /// `handle`'s result; a panic shows as [`Outcome::Error`].
    pub outcome: Outcome,
    /// 200 unless the plugin set another.
    pub status: u16,
    /// In the order added.
    pub headers: Vec<(String, String)>,
    /// Every body byte, whichever call sent it (files are read in).
    pub body: Vec<u8>,
    /// Number of `stream` calls (0: not streamed).
    pub chunks: usize,
    /// Response calls the host refused.
    pub refused: usize,
    /// Lines the plugin logged for this request (a panic logs one).
    pub logs: Vec<(Level, String)>,
    /// ABI 1.1: the handle, when the plugin suspended the request (see [`later`]).
    pub suspended: Option<u64>,
    /// ABI 1.1: the reason phrase the plugin set.
    pub reason: Option<String>,
}

impl TestResponse {
    /// The first header field `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A plugin instance created through the fake host; destroyed on drop.
pub struct TestPlugin<T: Plugin> {
    descriptor: Descriptor,
    capabilities: u64,
    instance: *mut c_void,
    _plugin: PhantomData<T>,
}

// SAFETY: the instance is a Box<T> behind a pointer, and T: Send + Sync.
unsafe impl<T: Plugin> Send for TestPlugin<T> {}
unsafe impl<T: Plugin> Sync for TestPlugin<T> {}

impl<T: Plugin> TestPlugin<T> {
    /// Runs `create` with `config`; `Err` carries the message brisk would print.
    pub fn create(config: &TestConfig) -> Result<TestPlugin<T>, String> {
        Self::create_with(config, 0)
    }

    /// As [`create`](TestPlugin::create), with the capabilities of its
    /// `brisk_plugin!` line: `BRISK_CAP_BODY_STREAM` makes the plugin see a
    /// request's head with the body empty, the body then coming by
    /// [`feed_body`] as it reads.
    pub fn create_with(config: &TestConfig, capabilities: u64) -> Result<TestPlugin<T>, String> {
        remember_host(&FAKE_HOST.0);
        crate::glue::install_panic_hook();
        let descriptor = descriptor::<T>(c"test", c"0.0.0", capabilities);
        let create = descriptor.0.create.expect("descriptor has create");
        let mut error = [0 as c_char; 256];
        // SAFETY: the fake host's table, a config that outlives the call, and
        // an error buffer of the size given.
        let instance = unsafe {
            create(
                &FAKE_HOST.0,
                config as *const TestConfig as *const brisk_config,
                error.as_mut_ptr(),
                error.len() as u64,
            )
        };
        if instance.is_null() {
            // SAFETY: create wrote a NUL-terminated message into the buffer.
            let message = unsafe { core::ffi::CStr::from_ptr(error.as_ptr()) };
            return Err(message.to_string_lossy().into_owned());
        }
        Ok(TestPlugin { descriptor, capabilities, instance, _plugin: PhantomData })
    }

    /// The plugin value, for assertions on its state.
    pub fn plugin(&self) -> &T {
        // SAFETY: instance was made by create::<T> and lives until drop.
        unsafe { crate::glue::plugin_of::<T>(self.instance) }
    }

    /// Runs `loop_init`; `false` is the failure that stops brisk's start-up.
    pub fn loop_init(&self, loop_index: u32) -> bool {
        let f = self.descriptor.0.loop_init.expect("descriptor has loop_init");
        // SAFETY: a live instance of this descriptor.
        unsafe { f(self.instance, loop_index) == 0 }
    }

    pub fn loop_fini(&self, loop_index: u32) {
        let f = self.descriptor.0.loop_fini.expect("descriptor has loop_fini");
        // SAFETY: a live instance of this descriptor.
        unsafe { f(self.instance, loop_index) }
    }

    /// Runs `stopping`, as brisk does on each loop when it stops or reloads.
    pub fn stopping(&self, loop_index: u32) {
        let f = self.descriptor.0.stopping.expect("descriptor has stopping");
        // SAFETY: a live instance of this descriptor.
        unsafe { f(self.instance, loop_index) }
    }

    /// Runs `handle` for `request` and records the response. Callable from
    /// several threads at once, as brisk does.
    pub fn call(&self, request: &TestRequest) -> TestResponse {
        let (path, query) = request.split_target();
        let headers: Vec<brisk_header> = request
            .headers
            .iter()
            .map(|(n, v)| brisk_header { name: brisk_str::from_bytes(n), value: brisk_str::from_bytes(v) })
            .collect();
        let body_later = self.capabilities & BRISK_CAP_BODY_STREAM != 0 && !request.body.is_empty();
        let raw = brisk_request {
            size: core::mem::size_of::<brisk_request>() as u32,
            version: (BRISK_PLUGIN_ABI_MAJOR << 16) | BRISK_PLUGIN_ABI_MINOR,
            method: brisk_str::from_bytes(&request.method),
            target: brisk_str::from_bytes(&request.target),
            path: brisk_str::from_bytes(path),
            query: brisk_str::from_bytes(query),
            host: brisk_str::from_bytes(request.header_value(b"host", 0).unwrap_or(b"")),
            headers: if headers.is_empty() { core::ptr::null() } else { headers.as_ptr() },
            header_count: headers.len() as u32,
            http_minor: request.http_minor,
            remote_addr: brisk_str::from_bytes(&request.remote_addr),
            remote_port: request.remote_port,
            reserved0: 0,
            loop_index: request.loop_index,
            connection_id: request.connection_id,
            request_number: request.request_number,
            body: if body_later { brisk_str::empty() } else { brisk_str::from_bytes(&request.body) },
            reserved: [0; 8],
            tls: request.tls.is_some() as u32,
            reserved1: 0,
            tls_protocol: tls_str(&request.tls, |t| &t.protocol),
            tls_cipher: tls_str(&request.tls, |t| &t.cipher),
            tls_server_name: tls_str(&request.tls, |t| &t.server_name),
            alpn: tls_str(&request.tls, |t| &t.alpn),
        };
        let ctx = FakeCtx {
            request,
            query,
            decoded: RefCell::new(Vec::new()),
            arena: RefCell::new(Vec::new()),
            slot: Cell::new(core::ptr::null_mut()),
            out: RefCell::new(Recorder::default()),
            unread_body: body_later.then_some(&request.body[..]),
        };
        let handle = self.descriptor.0.handle.expect("descriptor has handle");
        // SAFETY: a live instance; ctx and raw outlive the call.
        let code = unsafe { handle(self.instance, &ctx as *const FakeCtx as *mut brisk_ctx, &raw) };
        let out = ctx.out.replace(Recorder::default());
        // brisk releases referenced bodies once written; here, right away.
        for (release, arg) in out.releases {
            // SAFETY: the plugin's callback with its own argument.
            unsafe { release(arg) };
        }
        TestResponse {
            outcome: Outcome::from_code(code),
            status: out.status.unwrap_or(200),
            headers: out.headers,
            body: out.body,
            chunks: out.chunks,
            refused: out.refused,
            logs: out.logs,
            suspended: out.suspended,
            reason: out.reason,
        }
    }
}

impl<T: Plugin> Drop for TestPlugin<T> {
    fn drop(&mut self) {
        if let Some(destroy) = self.descriptor.0.destroy {
            // SAFETY: the instance, destroyed once.
            unsafe { destroy(self.instance) }
        }
    }
}

/// The fake host's function table, to call an entry point with.
pub fn fake_host() -> &'static brisk_host_api {
    &FAKE_HOST.0
}

thread_local! {
    static LOGS: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
}

/// Takes the lines logged on this thread outside a request (in `create`,
/// the loop hooks, `destroy`, or through [`log`](crate::log)).
pub fn take_logs() -> Vec<(Level, String)> {
    LOGS.with(|l| core::mem::take(&mut *l.borrow_mut()))
}

#[derive(Default, PartialEq, Eq, Clone, Copy)]
enum Body {
    #[default]
    None,
    Parts,
    Stream,
}

#[derive(Default)]
struct Recorder {
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    kind: Body,
    chunks: usize,
    refused: usize,
    logs: Vec<(Level, String)>,
    releases: Vec<(brisk_release_fn, *mut c_void)>,
    suspended: Option<u64>,
    reason: Option<String>,
}

impl Recorder {
    fn refuse(&mut self) -> i32 {
        self.refused += 1;
        refuse("refused by the fake host (see TestResponse::refused)")
    }

    fn start_body(&mut self, kind: Body) -> bool {
        if self.kind != Body::None && self.kind != kind {
            return false;
        }
        self.kind = kind;
        true
    }
}

struct FakeCtx<'r> {
    request: &'r TestRequest,
    query: &'r [u8],
    /// Percent-decoded query values, alive until the call ends.
    decoded: RefCell<Vec<Box<[u8]>>>,
    arena: RefCell<Vec<(*mut u8, Layout)>>,
    slot: Cell<*mut c_void>,
    out: RefCell<Recorder>,
    /// BRISK_CAP_BODY_STREAM: the body, read by body_read.
    unread_body: Option<&'r [u8]>,
}

impl Drop for FakeCtx<'_> {
    fn drop(&mut self) {
        for (ptr, layout) in self.arena.get_mut().drain(..) {
            // SAFETY: allocated by fake_arena_alloc with this layout.
            unsafe { dealloc(ptr, layout) };
        }
    }
}

/// SAFETY: `ctx` is the FakeCtx of a running TestPlugin::call.
unsafe fn fake<'c>(ctx: *mut brisk_ctx) -> &'c FakeCtx<'c> {
    unsafe { &*(ctx as *const FakeCtx<'c>) }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s` ('+' is a space); a malformed escape stays as is.
fn decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

unsafe extern "C" fn fake_header(ctx: *mut brisk_ctx, name: brisk_str, nth: u32, out: *mut brisk_str) -> i32 {
    let ctx = unsafe { fake(ctx) };
    match ctx.request.header_value(unsafe { name.as_bytes() }, nth as usize) {
        Some(v) => {
            unsafe { *out = brisk_str::from_bytes(v) };
            0
        }
        None => -1,
    }
}

unsafe extern "C" fn fake_query_arg(ctx: *mut brisk_ctx, name: brisk_str, out: *mut brisk_str) -> i32 {
    let ctx = unsafe { fake(ctx) };
    let name = unsafe { name.as_bytes() };
    for pair in ctx.query.split(|&b| b == b'&') {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        if decode(k) != name {
            continue;
        }
        let view = if v.iter().any(|&b| b == b'%' || b == b'+') {
            let mut decoded = ctx.decoded.borrow_mut();
            decoded.push(decode(v).into_boxed_slice());
            brisk_str::from_bytes(decoded.last().unwrap())
        } else {
            brisk_str::from_bytes(v)
        };
        unsafe { *out = view };
        return 0;
    }
    -1
}

unsafe extern "C" fn fake_cookie(ctx: *mut brisk_ctx, name: brisk_str, out: *mut brisk_str) -> i32 {
    let ctx = unsafe { fake(ctx) };
    let name = unsafe { name.as_bytes() };
    let fields = ctx.request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(b"cookie"));
    for (_, field) in fields {
        for pair in field.split(|&b| b == b';') {
            let pair = pair.trim_ascii();
            let Some(eq) = pair.iter().position(|&b| b == b'=') else { continue };
            if &pair[..eq] != name {
                continue;
            }
            let mut v = &pair[eq + 1..];
            if v.len() >= 2 && v[0] == b'"' && v[v.len() - 1] == b'"' {
                v = &v[1..v.len() - 1];
            }
            unsafe { *out = brisk_str::from_bytes(v) };
            return 0;
        }
    }
    -1
}

unsafe extern "C" fn fake_arena_alloc(ctx: *mut brisk_ctx, size: u64) -> *mut c_void {
    let ctx = unsafe { fake(ctx) };
    let Ok(layout) = Layout::from_size_align(usize::try_from(size).unwrap_or(usize::MAX).max(1), 16) else {
        return core::ptr::null_mut();
    };
    // SAFETY: a non-zero size.
    let ptr = unsafe { alloc_zeroed(layout) };
    if !ptr.is_null() {
        ctx.arena.borrow_mut().push((ptr, layout));
    }
    ptr as *mut c_void
}

unsafe extern "C" fn fake_request_slot(ctx: *mut brisk_ctx) -> *mut *mut c_void {
    unsafe { fake(ctx) }.slot.as_ptr()
}

unsafe extern "C" fn fake_set_status(ctx: *mut brisk_ctx, status: u32) -> i32 {
    let mut out = unsafe { fake(ctx) }.out.borrow_mut();
    if out.kind != Body::None || !(100..=599).contains(&status) {
        return out.refuse();
    }
    out.status = Some(status as u16);
    0
}

unsafe extern "C" fn fake_add_header(ctx: *mut brisk_ctx, name: brisk_str, value: brisk_str) -> i32 {
    let mut out = unsafe { fake(ctx) }.out.borrow_mut();
    let (name, value) = unsafe { (name.as_bytes(), value.as_bytes()) };
    let owned_by_host = ["date", "server", "content-length", "transfer-encoding", "connection"]
        .iter()
        .any(|h| h.as_bytes().eq_ignore_ascii_case(name));
    let bad_name = name.is_empty() || !name.iter().all(|&b| is_tchar(b));
    let bad_value = value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0);
    if out.kind != Body::None || owned_by_host || bad_name || bad_value {
        return out.refuse();
    }
    let pair = (String::from_utf8_lossy(name).into_owned(), String::from_utf8_lossy(value).into_owned());
    out.headers.push(pair);
    0
}

unsafe fn bytes<'x>(data: *const c_void, len: u64) -> &'x [u8] {
    unsafe { brisk_str { ptr: data as *const c_char, len }.as_bytes() }
}

unsafe extern "C" fn fake_body_copy(ctx: *mut brisk_ctx, data: *const c_void, len: u64) -> i32 {
    let mut out = unsafe { fake(ctx) }.out.borrow_mut();
    if !out.start_body(Body::Parts) {
        return out.refuse();
    }
    out.body.extend_from_slice(unsafe { bytes(data, len) });
    0
}

unsafe extern "C" fn fake_body_ref(
    ctx: *mut brisk_ctx,
    data: *const c_void,
    len: u64,
    release: Option<brisk_release_fn>,
    arg: *mut c_void,
) -> i32 {
    let mut out = unsafe { fake(ctx) }.out.borrow_mut();
    if !out.start_body(Body::Parts) {
        return out.refuse();
    }
    out.body.extend_from_slice(unsafe { bytes(data, len) });
    if let Some(release) = release {
        out.releases.push((release, arg));
    }
    0
}

unsafe extern "C" fn fake_body_file(ctx: *mut brisk_ctx, fd: i32, offset: u64, len: u64) -> i32 {
    let mut out = unsafe { fake(ctx) }.out.borrow_mut();
    if fd < 0 {
        return out.refuse();
    }
    // The host owns the descriptor from the call on, refused or not.
    let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    if !out.start_body(Body::Parts) {
        return out.refuse();
    }
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
    if file.read_exact_at(&mut buf, offset).is_err() {
        return out.refuse();
    }
    out.body.extend_from_slice(&buf);
    0
}

unsafe extern "C" fn fake_stream_write(ctx: *mut brisk_ctx, data: *const c_void, len: u64) -> i32 {
    let mut out = unsafe { fake(ctx) }.out.borrow_mut();
    if !out.start_body(Body::Stream) {
        return out.refuse();
    }
    out.body.extend_from_slice(unsafe { bytes(data, len) });
    out.chunks += 1;
    0
}

unsafe extern "C" fn fake_log(ctx: *mut brisk_ctx, level: i32, message: brisk_str) {
    let line = (Level::from_code(level), String::from_utf8_lossy(unsafe { message.as_bytes() }).into_owned());
    // Shown by cargo test when a test fails (a panic inside handle included).
    eprintln!("[fake host] {:?}: {}", line.0, line.1);
    if ctx.is_null() {
        LOGS.with(|l| l.borrow_mut().push(line));
    } else {
        unsafe { fake(ctx) }.out.borrow_mut().logs.push(line);
    }
}

/// SAFETY: `cfg` is the TestConfig of a running TestPlugin::create.
unsafe fn config<'c>(cfg: *const brisk_config) -> &'c TestConfig {
    unsafe { &*(cfg as *const TestConfig) }
}

unsafe extern "C" fn fake_config_string(cfg: *const brisk_config, key: brisk_str, out: *mut brisk_str) -> i32 {
    match unsafe { config(cfg).find(key.as_bytes()) } {
        Some((_, Value::String(s), _)) => {
            unsafe { *out = brisk_str::from_bytes(s.as_bytes()) };
            0
        }
        _ => -1,
    }
}

unsafe extern "C" fn fake_config_int(cfg: *const brisk_config, key: brisk_str, out: *mut i64) -> i32 {
    match unsafe { config(cfg).find(key.as_bytes()) } {
        Some((_, Value::Int(v), _)) => {
            unsafe { *out = *v };
            0
        }
        _ => -1,
    }
}

unsafe extern "C" fn fake_config_bool(cfg: *const brisk_config, key: brisk_str, out: *mut i32) -> i32 {
    match unsafe { config(cfg).find(key.as_bytes()) } {
        Some((_, Value::Bool(v), _)) => {
            unsafe { *out = i32::from(*v) };
            0
        }
        _ => -1,
    }
}

unsafe extern "C" fn fake_config_double(cfg: *const brisk_config, key: brisk_str, out: *mut f64) -> i32 {
    match unsafe { config(cfg).find(key.as_bytes()) } {
        Some((_, Value::Float(v), _)) => {
            unsafe { *out = *v };
            0
        }
        _ => -1,
    }
}

unsafe extern "C" fn fake_config_where(cfg: *const brisk_config, key: brisk_str) -> brisk_str {
    match unsafe { config(cfg).find(key.as_bytes()) } {
        Some((_, _, at)) => brisk_str::from_bytes(at.as_bytes()),
        None => brisk_str::from_bytes(b"test.toml:1:1"),
    }
}

struct FakeHost(brisk_host_api);

// SAFETY: the table is immutable and its functions are thread-safe.
unsafe impl Sync for FakeHost {}

static FAKE_HOST: FakeHost = FakeHost(brisk_host_api {
    size: core::mem::size_of::<brisk_host_api>() as u32,
    abi_major: BRISK_PLUGIN_ABI_MAJOR,
    abi_minor: BRISK_PLUGIN_ABI_MINOR,
    reserved0: 0,
    header: Some(fake_header),
    query_arg: Some(fake_query_arg),
    cookie: Some(fake_cookie),
    arena_alloc: Some(fake_arena_alloc),
    request_slot: Some(fake_request_slot),
    set_status: Some(fake_set_status),
    add_header: Some(fake_add_header),
    body_copy: Some(fake_body_copy),
    body_ref: Some(fake_body_ref),
    body_file: Some(fake_body_file),
    stream_write: Some(fake_stream_write),
    log: Some(fake_log),
    config_string: Some(fake_config_string),
    config_int: Some(fake_config_int),
    config_bool: Some(fake_config_bool),
    config_double: Some(fake_config_double),
    config_where: Some(fake_config_where),
    reserved: [core::ptr::null_mut(); 16],
    suspend: Some(fake_suspend),
    resume: Some(fake_resume),
    timer_start: Some(fake_timer_start),
    timer_cancel: Some(fake_timer_cancel),
    stream_open: Some(fake_stream_open),
    stream_send: Some(fake_stream_send),
    stream_end: Some(fake_stream_end),
    body_read: Some(fake_body_read),
    config_type: Some(fake_config_type),
    config_name: Some(fake_config_name),
    log_handle: Some(fake_log_handle),
    log_to: Some(fake_log_to),
    set_reason: Some(fake_set_reason),
    upgrade: Some(fake_upgrade),
    upgrade_timeout: Some(fake_upgrade_timeout),
    hijack: Some(fake_hijack),
    hijack_close: Some(fake_hijack_close),
    last_error: Some(fake_last_error),
});

// ---- ABI 1.1: requests answered later, streams, timers -----------------------

/// What a plugin answered later (or is streaming) for a suspended request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LaterAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// A stream's (or an upgraded connection's) bytes: every one taken so far.
    pub body: Vec<u8>,
    /// `open_stream` (or `upgrade`) gave the head.
    pub streamed: bool,
    /// `end` came.
    pub ended: bool,
    /// `upgrade` answered 101: the connection is the plugin's.
    pub upgraded: bool,
    /// `upgrade_timeout`'s last value.
    pub idle_timeout_ms: u64,
    /// `hijack` asked for the socket.
    pub hijacked: bool,
    /// `close_taken` came.
    pub closed: bool,
}

/// Bytes a stream holds unread by the fake client past which a send is refused (brisk's bound).
pub const STREAM_BOUND: u64 = 64 * 1024;

/// A callback and its argument, as the plugin gave them.
#[derive(Clone, Copy)]
struct Cb<F>(F, *mut c_void);
// SAFETY: plugin callbacks are called from whichever thread drives the fake,
// as brisk calls them from its loop threads.
unsafe impl<F> Send for Cb<F> {}

#[derive(Default)]
struct Suspended {
    cancel: Option<Cb<brisk_callback_fn>>,
    cancelled: bool,
    answer: Option<LaterAnswer>,
    drain: Option<Cb<brisk_callback_fn>>,
    unread: u64,
    wants_drain: bool,
    body: Vec<u8>,
    body_open: bool,
    on_body: Option<Cb<brisk_body_fn>>,
    upgradable: bool,
    on_read: Option<Cb<brisk_read_fn>>,
    on_taken: Option<Cb<brisk_taken_fn>>,
    handed: bool,
    plugin_end: Option<OwnedFd>,
}

impl Suspended {
    fn open_stream(&mut self) -> Option<&mut LaterAnswer> {
        match &mut self.answer {
            Some(a) if !self.cancelled && a.streamed && !a.ended => Some(a),
            _ => None,
        }
    }
}

struct FakeTimer {
    due: u64,
    fire: Cb<brisk_callback_fn>,
    pending: bool,
}

#[derive(Default)]
struct LaterState {
    next: u64,
    later: std::collections::HashMap<u64, Suspended>,
    timers: Vec<FakeTimer>,
    clock: u64,
}

fn state() -> std::sync::MutexGuard<'static, LaterState> {
    static STATE: std::sync::OnceLock<std::sync::Mutex<LaterState>> = std::sync::OnceLock::new();
    STATE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    static LAST_ERROR: Cell<&'static str> = const { Cell::new("") };
}

fn refuse(why: &'static str) -> i32 {
    LAST_ERROR.with(|l| l.set(why));
    -1
}

/// The answer the plugin gave later for `handle` (from any thread), or its
/// stream so far; `None` while it has not, or after a cancel.
pub fn later(handle: u64) -> Option<LaterAnswer> {
    let st = state();
    st.later.get(&handle).filter(|s| !s.cancelled).and_then(|s| s.answer.clone())
}

/// What brisk does when the client of a suspended request (or stream) goes
/// away: the plugin's cancel, once; false if there is nothing to cancel.
pub fn cancel(handle: u64) -> bool {
    let cb = {
        let mut st = state();
        let Some(s) = st.later.get_mut(&handle) else { return false };
        let done = s.answer.as_ref().is_some_and(|a| if a.hijacked { a.closed } else { !a.streamed || a.ended });
        if s.cancelled || done {
            return false;
        }
        s.cancelled = true;
        s.cancel
    };
    if let Some(Cb(f, arg)) = cb {
        // SAFETY: the plugin's callback with its own argument.
        unsafe { f(arg) };
    }
    true
}

/// The client read everything the stream `handle` was given: the drain
/// callback runs if a send was refused since; false if none was due.
pub fn client_read(handle: u64) -> bool {
    let cb = {
        let mut st = state();
        let Some(s) = st.later.get_mut(&handle) else { return false };
        if s.open_stream().is_none() {
            return false;
        }
        s.unread = 0;
        if !core::mem::take(&mut s.wants_drain) {
            return false;
        }
        s.drain
    };
    match cb {
        Some(Cb(f, arg)) => {
            // SAFETY: the plugin's callback with its own argument.
            unsafe { f(arg) };
            true
        }
        None => false,
    }
}

/// The body of a body-stream request arrives: pieces of at most `piece`
/// bytes go to the plugin, one per `read_body` it made (also from its
/// callback), the last one marked; returns how many went.
pub fn feed_body(handle: u64, piece: usize) -> usize {
    let mut fed = 0;
    loop {
        let (cb, bytes, last) = {
            let mut st = state();
            let Some(s) = st.later.get_mut(&handle) else { return fed };
            if s.cancelled || s.answer.is_some() || !s.body_open {
                return fed;
            }
            let Some(cb) = s.on_body.take() else { return fed };
            let n = s.body.len().min(piece.max(1));
            let bytes: Vec<u8> = s.body.drain(..n).collect();
            let last = s.body.is_empty();
            s.body_open = !last;
            (cb, bytes, last)
        };
        // SAFETY: the plugin's callback with its own argument; the bytes live during the call.
        unsafe { (cb.0)(cb.1, bytes.as_ptr() as *const c_void, bytes.len() as u64, i32::from(last)) };
        fed += 1;
    }
}

/// The client of the upgraded connection `handle` sends `bytes`: the
/// plugin's reader runs on this thread. False unless it is upgraded and open.
pub fn client_send(handle: u64, bytes: &[u8]) -> bool {
    let cb = {
        let mut st = state();
        let Some(s) = st.later.get_mut(&handle) else { return false };
        if !s.open_stream().is_some_and(|a| a.upgraded) {
            return false;
        }
        s.on_read
    };
    let Some(Cb(f, arg)) = cb else { return false };
    // SAFETY: the plugin's callback with its own argument; the bytes live during the call.
    unsafe { f(arg, bytes.as_ptr() as *const c_void, bytes.len() as u64) };
    true
}

/// brisk hands a hijacked connection over: the plugin's `taken` runs on
/// this thread with one end of a socket pair and `read_ahead`; the other
/// end (the client's) is returned. `None` if no hijack is pending.
pub fn hand_over(handle: u64, read_ahead: &[u8]) -> Option<OwnedFd> {
    use std::os::fd::AsRawFd;
    let (cb, plugin_fd, client) = {
        let mut st = state();
        let s = st.later.get_mut(&handle)?;
        if s.cancelled || s.handed || !s.answer.as_ref().is_some_and(|a| a.hijacked) {
            return None;
        }
        let (plugin, client) = std::os::unix::net::UnixStream::pair().ok()?;
        plugin.set_nonblocking(true).ok()?;
        let plugin = OwnedFd::from(plugin);
        let fd = plugin.as_raw_fd();
        s.handed = true;
        s.plugin_end = Some(plugin);
        (s.on_taken?, fd, OwnedFd::from(client))
    };
    // SAFETY: the plugin's callback with its own argument; the bytes live during the call.
    unsafe { (cb.0)(cb.1, plugin_fd, read_ahead.as_ptr() as *const c_void, read_ahead.len() as u64) };
    Some(client)
}

/// Moves the loops' clock on by `ms` and fires the timers due, in the order
/// of their deadlines; returns how many fired.
pub fn advance(ms: u64) -> usize {
    let mut fired = 0;
    let now = {
        let mut st = state();
        st.clock += ms;
        st.clock
    };
    loop {
        let cb = {
            let mut st = state();
            let next = st.timers.iter_mut().filter(|t| t.pending && t.due <= now).min_by_key(|t| t.due);
            let Some(t) = next else { return fired };
            t.pending = false;
            t.fire
        };
        // SAFETY: the plugin's callback with its own argument.
        unsafe { (cb.0)(cb.1) };
        fired += 1;
    }
}

/// A request asks for an upgrade: HTTP/1.1 without a body, Upgrade and "upgrade" in Connection.
fn asks_upgrade(r: &TestRequest) -> bool {
    let upgrade = (0..).map_while(|i| r.header_value(b"upgrade", i)).any(|v| !v.is_empty());
    let connection = (0..)
        .map_while(|i| r.header_value(b"connection", i))
        .any(|v| v.split(|&b| b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade")));
    r.http_minor == 1 && r.body.is_empty() && upgrade && connection
}

unsafe extern "C" fn fake_suspend(ctx: *mut brisk_ctx, cancel: Option<brisk_callback_fn>, arg: *mut c_void) -> u64 {
    let c = unsafe { fake(ctx) };
    let mut out = c.out.borrow_mut();
    if out.suspended.is_some() {
        out.refused += 1;
        refuse("the request is suspended already");
        return 0;
    }
    if out.kind != Body::None || out.status.is_some() || !out.headers.is_empty() {
        out.refused += 1;
        refuse("a response call was made already");
        return 0;
    }
    let mut st = state();
    st.next += 1;
    let handle = st.next;
    let s = Suspended {
        cancel: cancel.map(|f| Cb(f, arg)),
        body: c.unread_body.map(<[u8]>::to_vec).unwrap_or_default(),
        body_open: c.unread_body.is_some(),
        upgradable: asks_upgrade(c.request),
        ..Default::default()
    };
    st.later.insert(handle, s);
    out.suspended = Some(handle);
    handle
}

/// The status and fields of a later answer, checked as brisk does.
unsafe fn later_head(status: u32, headers: *const brisk_header, count: u32) -> Result<LaterAnswer, i32> {
    if !(200..=599).contains(&status) {
        return Err(refuse("a status outside 200-599"));
    }
    if count > 0 && headers.is_null() {
        return Err(refuse("headers is NULL with a count above 0"));
    }
    let fields = if count == 0 { &[][..] } else { unsafe { core::slice::from_raw_parts(headers, count as usize) } };
    let mut a = LaterAnswer { status: status as u16, ..Default::default() };
    for h in fields {
        let (n, v) = unsafe { (h.name.as_bytes(), h.value.as_bytes()) };
        let own = ["date", "server", "content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|o| o.as_bytes().eq_ignore_ascii_case(n));
        if own || n.is_empty() || !n.iter().all(|&b| is_tchar(b)) || v.iter().any(|&b| b < 0x20 && b != b'\t') {
            return Err(refuse("a field brisk sets itself, or a malformed field"));
        }
        a.headers.push((String::from_utf8_lossy(n).into_owned(), String::from_utf8_lossy(v).into_owned()));
    }
    Ok(a)
}

const NOT_SUSPENDED: &str = "the handle is not a suspended request (answered, cancelled, or never valid)";
const NOT_OPEN: &str = "the handle is not an open stream (ended, cancelled, taken, or never valid)";

/// Gives a suspended request its answer (or stream head); -1 if it is not suspended.
fn give(handle: u64, a: LaterAnswer, drain: Option<Cb<brisk_callback_fn>>) -> i32 {
    let mut st = state();
    match st.later.get_mut(&handle) {
        Some(s) if !s.cancelled && s.answer.is_none() => {
            s.answer = Some(a);
            s.drain = drain;
            0
        }
        _ => refuse(NOT_SUSPENDED),
    }
}

unsafe extern "C" fn fake_resume(
    handle: u64,
    status: u32,
    headers: *const brisk_header,
    count: u32,
    body: *const c_void,
    len: u64,
) -> i32 {
    match unsafe { later_head(status, headers, count) } {
        Ok(mut a) => {
            a.body = unsafe { bytes(body, len) }.to_vec();
            give(handle, a, None)
        }
        Err(rc) => rc,
    }
}

unsafe extern "C" fn fake_stream_open(
    handle: u64,
    status: u32,
    headers: *const brisk_header,
    count: u32,
    drain: Option<brisk_callback_fn>,
    arg: *mut c_void,
) -> i32 {
    match unsafe { later_head(status, headers, count) } {
        Ok(mut a) => {
            a.streamed = true;
            give(handle, a, drain.map(|f| Cb(f, arg)))
        }
        Err(rc) => rc,
    }
}

unsafe extern "C" fn fake_stream_send(handle: u64, data: *const c_void, len: u64) -> i32 {
    let mut st = state();
    let Some(s) = st.later.get_mut(&handle) else { return refuse(NOT_OPEN) };
    if s.open_stream().is_none() {
        return refuse(NOT_OPEN);
    }
    if s.unread > 0 && s.unread + len > STREAM_BOUND {
        s.wants_drain = true;
        return BRISK_STREAM_FULL;
    }
    s.unread += len;
    let a = s.open_stream().expect("open");
    a.body.extend_from_slice(unsafe { bytes(data, len) });
    0
}

unsafe extern "C" fn fake_stream_end(handle: u64) -> i32 {
    let mut st = state();
    match st.later.get_mut(&handle).and_then(Suspended::open_stream) {
        Some(a) => {
            a.ended = true;
            0
        }
        None => refuse(NOT_OPEN),
    }
}

unsafe extern "C" fn fake_body_read(handle: u64, on_body: Option<brisk_body_fn>, arg: *mut c_void) -> i32 {
    let mut st = state();
    match (st.later.get_mut(&handle), on_body) {
        (Some(s), Some(f)) if !s.cancelled && s.answer.is_none() && s.body_open && s.on_body.is_none() => {
            s.on_body = Some(Cb(f, arg));
            0
        }
        _ => refuse("no body to read now: not a suspended body-stream request, a read pending, or the end was read"),
    }
}

unsafe extern "C" fn fake_timer_start(ms: u64, fire: Option<brisk_callback_fn>, arg: *mut c_void) -> u64 {
    let Some(f) = fire else {
        refuse("fire is NULL");
        return 0;
    };
    let mut st = state();
    let due = st.clock + ms;
    st.timers.push(FakeTimer { due, fire: Cb(f, arg), pending: true });
    st.timers.len() as u64
}

unsafe extern "C" fn fake_timer_cancel(id: u64) -> i32 {
    let mut st = state();
    match usize::try_from(id).ok().and_then(|i| i.checked_sub(1)).and_then(|i| st.timers.get_mut(i)) {
        Some(t) if t.pending => {
            t.pending = false;
            0
        }
        _ => refuse("the timer is not pending"),
    }
}

unsafe extern "C" fn fake_config_type(cfg: *const brisk_config, key: brisk_str) -> i32 {
    match unsafe { config(cfg).find(key.as_bytes()) } {
        None => BRISK_CONFIG_ABSENT,
        Some((_, Value::String(_), _)) => BRISK_CONFIG_STRING,
        Some((_, Value::Int(_), _)) => BRISK_CONFIG_INT,
        Some((_, Value::Bool(_), _)) => BRISK_CONFIG_BOOL,
        Some((_, Value::Float(_), _)) => BRISK_CONFIG_DOUBLE,
    }
}

unsafe extern "C" fn fake_config_name(_cfg: *const brisk_config) -> brisk_str {
    brisk_str::from_bytes(b"test")
}

unsafe extern "C" fn fake_log_handle(_cfg: *const brisk_config) -> u64 {
    1
}

unsafe extern "C" fn fake_log_to(_handle: u64, level: i32, message: brisk_str) {
    unsafe { fake_log(core::ptr::null_mut(), level, message) }
}

unsafe extern "C" fn fake_set_reason(ctx: *mut brisk_ctx, phrase: brisk_str) -> i32 {
    let mut out = unsafe { fake(ctx) }.out.borrow_mut();
    let p = unsafe { phrase.as_bytes() };
    if out.kind != Body::None || p.is_empty() || p.len() > 48 || p.iter().any(|&b| (b < 0x20 && b != b'\t') || b > 0x7e)
    {
        return out.refuse();
    }
    out.reason = Some(String::from_utf8_lossy(p).into_owned());
    0
}

unsafe extern "C" fn fake_upgrade(
    handle: u64,
    headers: *const brisk_header,
    count: u32,
    on_read: Option<brisk_read_fn>,
    drain: Option<brisk_callback_fn>,
    arg: *mut c_void,
) -> i32 {
    let Some(read) = on_read else { return refuse("on_read is NULL") };
    let mut a = match unsafe { later_head(200, headers, count) } {
        Ok(a) => a,
        Err(rc) => return rc,
    };
    a.status = 101;
    a.headers.push(("Connection".to_owned(), "Upgrade".to_owned()));
    a.streamed = true;
    a.upgraded = true;
    let mut st = state();
    match st.later.get_mut(&handle) {
        Some(s) if !s.cancelled && s.answer.is_none() && s.upgradable => {
            s.answer = Some(a);
            s.drain = drain.map(|f| Cb(f, arg));
            s.on_read = Some(Cb(read, arg));
            0
        }
        _ => refuse("the handle is not a suspended request that asked for an upgrade"),
    }
}

unsafe extern "C" fn fake_upgrade_timeout(handle: u64, ms: u64) -> i32 {
    let mut st = state();
    match st.later.get_mut(&handle).and_then(Suspended::open_stream) {
        Some(a) if a.upgraded => {
            a.idle_timeout_ms = ms;
            0
        }
        _ => refuse("the handle is not an open upgraded connection"),
    }
}

unsafe extern "C" fn fake_hijack(handle: u64, taken: Option<brisk_taken_fn>, arg: *mut c_void) -> i32 {
    let Some(f) = taken else { return refuse("taken is NULL") };
    let mut st = state();
    match st.later.get_mut(&handle) {
        Some(s) if !s.cancelled && s.answer.is_none() && !s.body_open => {
            s.answer = Some(LaterAnswer { hijacked: true, ..Default::default() });
            s.on_taken = Some(Cb(f, arg));
            0
        }
        _ => refuse("the handle is not a suspended request with its body read"),
    }
}

unsafe extern "C" fn fake_hijack_close(handle: u64) -> i32 {
    let mut st = state();
    match st.later.get_mut(&handle) {
        Some(s) if !s.cancelled && s.answer.as_ref().is_some_and(|a| a.hijacked && !a.closed) => {
            s.answer.as_mut().expect("hijacked").closed = true;
            s.plugin_end = None; // closes the plugin's end
            0
        }
        _ => refuse("the handle is not a connection taken by hijack()"),
    }
}

unsafe extern "C" fn fake_last_error() -> brisk_str {
    brisk_str::from_bytes(LAST_ERROR.with(Cell::get).as_bytes())
}

/// One string of a test request's TLS, or empty for cleartext.
fn tls_str(tls: &Option<TestTls>, field: impl Fn(&TestTls) -> &Vec<u8>) -> brisk_str {
    tls.as_ref().map_or(brisk_str::empty(), |t| brisk_str::from_bytes(field(t)))
}
