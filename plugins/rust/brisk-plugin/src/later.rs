//! ABI 1.1: requests answered later, streams, request bodies read piece by
//! piece, connections taken over (upgrade) or out (hijack), and loop timers.
//!
//! [`Response::suspend`](crate::Response::suspend) turns the request into a
//! [`Later`]: a plain handle (`Send + Sync + Clone`) that answers it from any
//! thread, once. The closures given to it (the cancel, a stream's drain, an
//! upgraded connection's reader, a body piece's receiver, a hijack's taker)
//! run on the request's loop thread; they are kept in a process-wide table
//! under the handle's key, so a callback that brisk delivers after the
//! request ended finds nothing and does nothing. The table lets go of them
//! when the request is over: the cancel ran, or an answer, a stream's end or
//! a taken connection's close was accepted.

use crate::abi::*;
use crate::plugin::host;
use core::ffi::c_void;
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, OnceLock};

/// brisk refused a call: a bad argument, a call out of order, or a handle
/// whose request is over. [`last_error`] says why.
pub use crate::response::Refused;

/// What [`Later::send`] did with the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sent {
    /// Taken; they leave in order.
    Taken,
    /// Nothing taken: 64 KiB wait for the client. Send again from the drain callback.
    Full,
    /// The stream ended, was cancelled, or never was.
    Gone,
}

type Once0 = Box<dyn FnOnce() + Send>;
type Each0 = Box<dyn FnMut() + Send>;
type EachBytes = Box<dyn FnMut(&[u8]) + Send>;
type Piece = Box<dyn FnOnce(&[u8], bool) + Send>;
type Taker = Box<dyn FnOnce(RawFd, &[u8]) + Send>;

/// The closures of one suspended request.
#[derive(Default)]
struct Callbacks {
    cancel: Mutex<Option<Once0>>,
    drain: Mutex<Option<Each0>>,
    read: Mutex<Option<EachBytes>>,
    body: Mutex<Option<Piece>>,
    taken: Mutex<Option<Taker>>,
}

struct Table {
    next: u64,
    live: HashMap<u64, Arc<Callbacks>>,
}

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(|| Mutex::new(Table { next: 0, live: HashMap::new() }))
}

fn register() -> (u64, Arc<Callbacks>) {
    let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
    t.next += 1;
    let key = t.next;
    let cbs = Arc::new(Callbacks::default());
    t.live.insert(key, Arc::clone(&cbs));
    (key, cbs)
}

fn lookup(key: u64) -> Option<Arc<Callbacks>> {
    table().lock().unwrap_or_else(|e| e.into_inner()).live.get(&key).cloned()
}

/// The request is over: its closures go (outside the table's lock, so that
/// one whose drop calls back in cannot deadlock).
pub(crate) fn forget(key: u64) {
    let gone = table().lock().unwrap_or_else(|e| e.into_inner()).live.remove(&key);
    drop(gone);
}

fn arg_of(key: u64) -> *mut c_void {
    key as usize as *mut c_void
}

fn key_of(arg: *mut c_void) -> u64 {
    arg as usize as u64
}

fn put<T>(slot: &Mutex<Option<T>>, value: T) {
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
}

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// Runs a plugin closure from a C callback: a panic is logged, never unwinds into brisk.
fn run(what: &str, f: impl FnOnce()) {
    if let Err(panicked) = crate::glue::guarded(f) {
        crate::log(crate::Level::Error, &format!("{what} callback {panicked}"));
    }
}

unsafe extern "C" fn on_cancel(arg: *mut c_void) {
    let key = key_of(arg);
    if let Some(cbs) = lookup(key) {
        forget(key);
        if let Some(f) = take(&cbs.cancel) {
            run("cancel", f);
        }
    }
}

/// Runs a closure kept for more calls, and puts it back unless it was replaced meanwhile.
fn run_kept<F: ?Sized>(what: &str, slot: &Mutex<Option<Box<F>>>, call: impl FnOnce(&mut F)) {
    if let Some(mut f) = take(slot) {
        run(what, || call(&mut *f));
        let mut kept = slot.lock().unwrap_or_else(|e| e.into_inner());
        if kept.is_none() {
            *kept = Some(f);
        }
    }
}

unsafe extern "C" fn on_drain(arg: *mut c_void) {
    if let Some(cbs) = lookup(key_of(arg)) {
        run_kept("drain", &cbs.drain, |f| f());
    }
}

/// # Safety
/// `data` points to `len` readable bytes during the call (brisk's promise).
unsafe fn slice<'x>(data: *const c_void, len: u64) -> &'x [u8] {
    if data.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: the caller's promise.
        unsafe { core::slice::from_raw_parts(data as *const u8, len as usize) }
    }
}

unsafe extern "C" fn on_read(arg: *mut c_void, data: *const c_void, len: u64) {
    if let Some(cbs) = lookup(key_of(arg)) {
        // SAFETY: brisk's bytes, valid during this call.
        let bytes = unsafe { slice(data, len) };
        run_kept("on_read", &cbs.read, |f| f(bytes));
    }
}

unsafe extern "C" fn on_body(arg: *mut c_void, data: *const c_void, len: u64, last: i32) {
    if let Some(f) = lookup(key_of(arg)).and_then(|cbs| take(&cbs.body)) {
        // SAFETY: brisk's bytes, valid during this call.
        let bytes = unsafe { slice(data, len) };
        run("on_body", || f(bytes, last != 0));
    }
}

unsafe extern "C" fn on_taken(arg: *mut c_void, fd: i32, data: *const c_void, len: u64) {
    if let Some(f) = lookup(key_of(arg)).and_then(|cbs| take(&cbs.taken)) {
        // SAFETY: brisk's bytes, valid during this call.
        let bytes = unsafe { slice(data, len) };
        run("taken", || f(fd, bytes));
    }
}

/// Why the last host call of this thread that refused did so; empty if none
/// did (or on a host older than 1.1).
pub fn last_error() -> &'static str {
    let Some(f) = host().filter(|h| h.has_1_1()).and_then(|h| h.last_error) else {
        return "";
    };
    // SAFETY: the host's static bytes, valid for the process's life.
    core::str::from_utf8(unsafe { f().as_bytes() }).unwrap_or("")
}

fn api() -> Result<&'static brisk_host_api, Refused> {
    host().filter(|h| h.has_1_1()).ok_or(Refused)
}

fn check(rc: i32) -> Result<(), Refused> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Refused)
    }
}

fn fields(headers: &[(&str, &str)]) -> Vec<brisk_header> {
    headers
        .iter()
        .map(|(n, v)| brisk_header {
            name: brisk_str::from_bytes(n.as_bytes()),
            value: brisk_str::from_bytes(v.as_bytes()),
        })
        .collect()
}

/// A suspended request: answers it once, from any thread, whole
/// ([`resume`](Later::resume)) or over time ([`open_stream`](Later::open_stream),
/// [`send`](Later::send), [`end`](Later::end)); or reads its body piece by
/// piece ([`read_body`](Later::read_body)), takes the connection over
/// ([`upgrade`](Later::upgrade)) or out of brisk ([`hijack`](Later::hijack)).
/// Copies share the request; brisk refuses every answer after the first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Later {
    handle: u64,
    key: u64,
}

impl Later {
    /// Suspends the request of `ctx` (the glue of `Response::suspend`).
    pub(crate) fn suspend(
        host: &brisk_host_api,
        ctx: *mut brisk_ctx,
        cancel: impl FnOnce() + Send + 'static,
    ) -> Result<Later, Refused> {
        let f = host.suspend.filter(|_| host.has_1_1()).ok_or(Refused)?;
        let (key, cbs) = register();
        put(&cbs.cancel, Box::new(cancel) as Once0);
        // SAFETY: ctx is the request being handled on this thread.
        let handle = unsafe { f(ctx, Some(on_cancel), arg_of(key)) };
        if handle == 0 {
            forget(key);
            return Err(Refused);
        }
        Ok(Later { handle, key })
    }

    /// The ABI handle, for the host functions the safe API does not cover.
    pub fn handle(&self) -> u64 {
        self.handle
    }

    pub(crate) fn key(&self) -> u64 {
        self.key
    }

    /// Accepted: the request is over, its closures go.
    fn over(&self, rc: i32) -> Result<(), Refused> {
        check(rc)?;
        forget(self.key);
        Ok(())
    }

    /// The whole answer (status 200-599, fields, body), copied now.
    pub fn resume(&self, status: u16, headers: &[(&str, &str)], body: &[u8]) -> Result<(), Refused> {
        let f = api()?.resume.ok_or(Refused)?;
        let h = fields(headers);
        // SAFETY: the views outlive the call, which copies them.
        let rc = unsafe {
            f(
                self.handle,
                u32::from(status),
                h.as_ptr(),
                h.len() as u32,
                body.as_ptr() as *const c_void,
                body.len() as u64,
            )
        };
        self.over(rc)
    }

    /// Starts an answer given over time: the head leaves now (chunked on
    /// HTTP/1.1, close-delimited on HTTP/1.0, head only for HEAD). `drain`
    /// runs on the loop once a refused [`send`](Later::send) may be tried again.
    pub fn open_stream(
        &self,
        status: u16,
        headers: &[(&str, &str)],
        drain: impl FnMut() + Send + 'static,
    ) -> Result<(), Refused> {
        let f = api()?.stream_open.ok_or(Refused)?;
        let cbs = lookup(self.key).ok_or(Refused)?;
        put(&cbs.drain, Box::new(drain) as Each0);
        let h = fields(headers);
        // SAFETY: as in resume().
        check(unsafe {
            f(self.handle, u32::from(status), h.as_ptr(), h.len() as u32, Some(on_drain), arg_of(self.key))
        })
    }

    /// Body bytes of the stream (or of an upgraded connection), copied now.
    pub fn send(&self, bytes: &[u8]) -> Sent {
        let Some(f) = api().ok().and_then(|h| h.stream_send) else {
            return Sent::Gone;
        };
        // SAFETY: as in resume().
        match unsafe { f(self.handle, bytes.as_ptr() as *const c_void, bytes.len() as u64) } {
            0 => Sent::Taken,
            BRISK_STREAM_FULL => Sent::Full,
            _ => Sent::Gone,
        }
    }

    /// Ends the stream (an upgraded connection closes once its bytes left).
    pub fn end(&self) -> Result<(), Refused> {
        let f = api()?.stream_end.ok_or(Refused)?;
        // SAFETY: a plain handle.
        self.over(unsafe { f(self.handle) })
    }

    /// For a body-stream plugin (`brisk_plugin!(..., body_stream)`): asks for
    /// the next piece of the request body; `on_body(bytes, last)` runs once,
    /// on the loop. The first call sends `100 Continue` to a client that asked.
    pub fn read_body(&self, on_body: impl FnOnce(&[u8], bool) + Send + 'static) -> Result<(), Refused> {
        let f = api()?.body_read.ok_or(Refused)?;
        let cbs = lookup(self.key).ok_or(Refused)?;
        put(&cbs.body, Box::new(on_body) as Piece);
        // SAFETY: a plain handle and the table's key.
        let rc = unsafe { f(self.handle, Some(self::on_body), arg_of(self.key)) };
        if rc != 0 {
            take(&cbs.body);
        }
        check(rc)
    }

    /// Answers a request that asked for an upgrade with 101 and takes the
    /// connection over: `on_read` gets what the client sends (first what came
    /// behind the request), [`send`](Later::send) and [`end`](Later::end)
    /// write and close, `drain` as for [`open_stream`](Later::open_stream).
    pub fn upgrade(
        &self,
        headers: &[(&str, &str)],
        on_read: impl FnMut(&[u8]) + Send + 'static,
        drain: impl FnMut() + Send + 'static,
    ) -> Result<(), Refused> {
        let f = api()?.upgrade.ok_or(Refused)?;
        let cbs = lookup(self.key).ok_or(Refused)?;
        put(&cbs.read, Box::new(on_read) as EachBytes);
        put(&cbs.drain, Box::new(drain) as Each0);
        let h = fields(headers);
        // SAFETY: as in resume().
        check(unsafe {
            f(self.handle, h.as_ptr(), h.len() as u32, Some(self::on_read), Some(on_drain), arg_of(self.key))
        })
    }

    /// An upgraded connection without input for `ms` milliseconds is closed (with the cancel); 0: never.
    pub fn upgrade_timeout(&self, ms: u64) -> Result<(), Refused> {
        let f = api()?.upgrade_timeout.ok_or(Refused)?;
        // SAFETY: a plain handle.
        check(unsafe { f(self.handle, ms) })
    }

    /// Takes the socket out of brisk: once earlier answers have left,
    /// `taken(fd, read_ahead)` runs on the loop with it and the bytes brisk
    /// read past the request. The socket is the plugin's to use from any
    /// thread, and to close with [`close_taken`](Later::close_taken) only.
    pub fn hijack(&self, taken: impl FnOnce(RawFd, &[u8]) + Send + 'static) -> Result<(), Refused> {
        let f = api()?.hijack.ok_or(Refused)?;
        let cbs = lookup(self.key).ok_or(Refused)?;
        put(&cbs.taken, Box::new(taken) as Taker);
        // SAFETY: a plain handle and the table's key.
        let rc = unsafe { f(self.handle, Some(on_taken), arg_of(self.key)) };
        if rc != 0 {
            take(&cbs.taken);
        }
        check(rc)
    }

    /// Closes a hijacked connection and frees its place under brisk's limits.
    pub fn close_taken(&self) -> Result<(), Refused> {
        let f = api()?.hijack_close.ok_or(Refused)?;
        // SAFETY: a plain handle.
        self.over(unsafe { f(self.handle) })
    }
}

/// A one-shot timer on a loop thread ([`start_timer`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Timer {
    id: u64,
    arg: *mut c_void,
}

unsafe extern "C" fn on_timer(arg: *mut c_void) {
    // SAFETY: the box start_timer leaked for this timer, fired once.
    let f = unsafe { Box::from_raw(arg as *mut Once0) };
    run("timer", f);
}

/// Runs `fire` once on the calling loop thread, `ms` milliseconds from now
/// or later. `None` off a loop thread (or on a host older than 1.1). A timer
/// pending when its loop ends never fires (its closure is then not dropped).
pub fn start_timer(ms: u64, fire: impl FnOnce() + Send + 'static) -> Option<Timer> {
    let f = api().ok()?.timer_start?;
    let arg = Box::into_raw(Box::new(Box::new(fire) as Once0)) as *mut c_void;
    // SAFETY: the callback frees the box when it fires.
    let id = unsafe { f(ms, Some(on_timer), arg) };
    if id == 0 {
        // SAFETY: refused: the box was not handed over.
        drop(unsafe { Box::from_raw(arg as *mut Once0) });
        return None;
    }
    Some(Timer { id, arg })
}

impl Timer {
    /// Cancels the timer, on the loop thread that started it: true if it
    /// was pending (it will not fire; its closure is dropped).
    pub fn cancel(self) -> bool {
        let Some(f) = api().ok().and_then(|h| h.timer_cancel) else {
            return false;
        };
        // SAFETY: a plain id.
        if unsafe { f(self.id) } != 0 {
            return false;
        }
        // SAFETY: cancelled: the callback will never free the box.
        drop(unsafe { Box::from_raw(self.arg as *mut Once0) });
        true
    }
}
