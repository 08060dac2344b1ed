//! The response a handler builds through brisk's host functions.

use crate::abi::{brisk_ctx, brisk_host_api, brisk_str};
use core::ffi::c_void;
use core::marker::PhantomData;
use std::os::fd::{IntoRawFd, OwnedFd};

/// brisk refused a response call: a bad argument (status outside 100-599, a
/// header brisk owns, a name with CR or LF) or a call out of order (status
/// or header after the body started, streaming mixed with other body calls).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Refused;

impl core::fmt::Display for Refused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("brisk refused the response call")
    }
}

impl std::error::Error for Refused {}

/// The response to one request, valid for the duration of `handle`.
///
/// Calls go straight to brisk. Order: [`status`](Response::status) and
/// [`header`](Response::header) first, then the body, either as whole parts
/// ([`write`](Response::write), [`write_static`](Response::write_static),
/// [`send_file`](Response::send_file), any number and mix) or as a stream
/// ([`stream`](Response::stream) only). brisk adds Date, Server and the
/// framing (Content-Length or chunked). A handler that sends nothing and
/// returns `Done` answers 200 with an empty body.
pub struct Response<'a> {
    ctx: *mut brisk_ctx,
    host: &'a brisk_host_api,
    suspended: Option<u64>,
    _thread_bound: PhantomData<*mut brisk_ctx>,
}

fn check(rc: i32) -> Result<(), Refused> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Refused)
    }
}

impl<'a> Response<'a> {
    /// # Safety
    /// `ctx` is the context of one `handle` call, `host` the host's table,
    /// and the value does not outlive that call.
    pub unsafe fn from_raw(ctx: *mut brisk_ctx, host: &'a brisk_host_api) -> Self {
        Response { ctx, host, suspended: None, _thread_bound: PhantomData }
    }

    /// Sets the status (100-599; 200 if never set), before any body call.
    pub fn status(&mut self, status: u16) -> Result<(), Refused> {
        let f = self.host.set_status.ok_or(Refused)?;
        // SAFETY: ctx belongs to the request being handled on this thread.
        check(unsafe { f(self.ctx, u32::from(status)) })
    }

    /// Adds a header field (copied), before any body call. Date, Server,
    /// Content-Length, Transfer-Encoding and Connection are brisk's.
    pub fn header(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), Refused> {
        let f = self.host.add_header.ok_or(Refused)?;
        let (name, value) = (name.as_ref(), value.as_ref());
        // SAFETY: as in status(); the views outlive the call, which copies.
        check(unsafe { f(self.ctx, brisk_str::from_bytes(name), brisk_str::from_bytes(value)) })
    }

    /// Appends body bytes, copied now.
    pub fn write(&mut self, data: impl AsRef<[u8]>) -> Result<(), Refused> {
        let f = self.host.body_copy.ok_or(Refused)?;
        let data = data.as_ref();
        // SAFETY: as in status(); data outlives the call, which copies.
        check(unsafe { f(self.ctx, data.as_ptr() as *const c_void, data.len() as u64) })
    }

    /// Appends body bytes without copying them: they are `'static`, so they
    /// outlive any write brisk does later.
    pub fn write_static(&mut self, data: &'static [u8]) -> Result<(), Refused> {
        let f = self.host.body_ref.ok_or(Refused)?;
        // SAFETY: as in status(); 'static data needs no release callback.
        check(unsafe { f(self.ctx, data.as_ptr() as *const c_void, data.len() as u64, None, core::ptr::null_mut()) })
    }

    /// Sends `len` bytes of `file` from `offset` with sendfile(2). brisk takes
    /// the descriptor and closes it when done, also when it refuses the call.
    pub fn send_file(&mut self, file: impl Into<OwnedFd>, offset: u64, len: u64) -> Result<(), Refused> {
        let f = self.host.body_file.ok_or(Refused)?;
        let fd = file.into().into_raw_fd();
        // SAFETY: as in status(); the descriptor is handed over to brisk.
        check(unsafe { f(self.ctx, fd, offset, len) })
    }

    /// Streams: the first call sends the head (chunked framing on HTTP/1.1,
    /// close-delimited on HTTP/1.0), every call sends one chunk at once.
    /// Cannot be mixed with the other body calls.
    pub fn stream(&mut self, data: impl AsRef<[u8]>) -> Result<(), Refused> {
        let f = self.host.stream_write.ok_or(Refused)?;
        let data = data.as_ref();
        // SAFETY: as in write().
        check(unsafe { f(self.ctx, data.as_ptr() as *const c_void, data.len() as u64) })
    }

    /// Makes `write!(res, "...", ...)` append formatted text to the body
    /// (by copy). An inherent method, not `std::io::Write`, so that
    /// `res.write(...)` always means [`write`](Response::write).
    pub fn write_fmt(&mut self, args: core::fmt::Arguments<'_>) -> Result<(), Refused> {
        match args.as_str() {
            Some(text) => self.write(text),
            None => self.write(args.to_string()),
        }
    }

    /// ABI 1.1: the reason phrase of this answer (at most 48 bytes of
    /// visible ASCII, spaces and tabs), before any body call. Without it the
    /// status's registered phrase goes out.
    pub fn reason(&mut self, phrase: &str) -> Result<(), Refused> {
        let f = self.host.set_reason.filter(|_| self.host.has_1_1()).ok_or(Refused)?;
        // SAFETY: as in status(); the phrase outlives the call, which copies.
        check(unsafe { f(self.ctx, brisk_str::from_bytes(phrase.as_bytes())) })
    }

    /// ABI 1.1: the request is answered later, through the returned
    /// [`Later`](crate::Later) (from any thread), and `handle` returns
    /// [`Outcome::Done`](crate::Outcome::Done); any other outcome undoes it.
    /// `cancel` runs once, on the loop, if the request will never be answered
    /// (the client left, the handler timeout or the write timeout passed).
    /// Refused on the blocking pool, after a response call, or a second time.
    /// Copy what the answer needs: nothing of the request outlives `handle`.
    pub fn suspend(&mut self, cancel: impl FnOnce() + Send + 'static) -> Result<crate::Later, Refused> {
        if self.suspended.is_some() {
            return Err(Refused);
        }
        let later = crate::Later::suspend(self.host, self.ctx, cancel)?;
        self.suspended = Some(later.key());
        Ok(later)
    }

    pub(crate) fn suspended_key(&self) -> Option<u64> {
        self.suspended
    }

    /// The raw context, for the host functions the safe API does not cover.
    pub fn ctx(&self) -> *mut brisk_ctx {
        self.ctx
    }

    /// The host's function table.
    pub fn host_api(&self) -> &'a brisk_host_api {
        self.host
    }
}

impl core::fmt::Debug for Response<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Response").finish_non_exhaustive()
    }
}
