//! The trait a plugin implements, its outcomes, and logging.

use crate::abi::{self, brisk_host_api, brisk_str};
use crate::{Config, Request, Response};
use core::sync::atomic::{AtomicPtr, Ordering};

/// What `handle` did with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The handler answered (with the response calls it made).
    Done,
    /// Not for this handler: the request goes on to the next matching route.
    Decline,
    /// Failure: a 500 if nothing was sent yet, else brisk closes the connection.
    Error,
}

impl Outcome {
    /// The ABI's value: `BRISK_DONE`, `BRISK_DECLINE` or `BRISK_ERROR`.
    pub const fn code(self) -> i32 {
        match self {
            Outcome::Done => abi::BRISK_DONE,
            Outcome::Decline => abi::BRISK_DECLINE,
            Outcome::Error => abi::BRISK_ERROR,
        }
    }

    /// The outcome for an ABI value; unknown values are errors.
    pub const fn from_code(code: i32) -> Outcome {
        match code {
            abi::BRISK_DONE => Outcome::Done,
            abi::BRISK_DECLINE => Outcome::Decline,
            _ => Outcome::Error,
        }
    }
}

/// `Ok` is [`Outcome::Done`], `Err` is [`Outcome::Error`]: a handler written
/// with `?` ends with `.into()`.
impl<E> From<Result<(), E>> for Outcome {
    fn from(result: Result<(), E>) -> Outcome {
        match result {
            Ok(()) => Outcome::Done,
            Err(_) => Outcome::Error,
        }
    }
}

/// A handler plugin: one value per `[plugins.NAME]` instance.
///
/// `handle` runs on every event loop thread (or on the blocking pool), for
/// many requests at once, hence `&self` and `Send + Sync`: keep per-request
/// state on the stack, shared state behind atomics or locks, and per-loop
/// state indexed by [`Request::loop_index`].
pub trait Plugin: Sized + Send + Sync + 'static {
    /// Builds the instance from its config table, once, on the main thread.
    /// An `Err` stops brisk's start-up with the message; name the place with
    /// [`Config::error`].
    fn create(config: &Config<'_>) -> Result<Self, String>;

    /// Answers one request.
    fn handle(&self, req: &Request<'_>, res: &mut Response<'_>) -> Outcome;

    /// Called once per event loop, on that loop's thread, before it serves
    /// requests. An `Err` stops brisk's start-up and is logged.
    fn loop_init(&self, _loop_index: u32) -> Result<(), String> {
        Ok(())
    }

    /// Called once per event loop, on that loop's thread, when it stops.
    fn loop_fini(&self, _loop_index: u32) {}

    /// ABI 1.1: the server stops (SIGTERM) or this generation retires (a
    /// reload), once on each loop thread as its connections begin to drain:
    /// suspended requests, streams and taken connections of that loop should
    /// finish now. brisk waits for them until --shutdown-timeout.
    fn stopping(&self, _loop_index: u32) {}
}

/// Severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub const fn code(self) -> i32 {
        match self {
            Level::Debug => abi::BRISK_LOG_DEBUG,
            Level::Info => abi::BRISK_LOG_INFO,
            Level::Warn => abi::BRISK_LOG_WARN,
            Level::Error => abi::BRISK_LOG_ERROR,
        }
    }

    pub const fn from_code(code: i32) -> Level {
        match code {
            abi::BRISK_LOG_DEBUG => Level::Debug,
            abi::BRISK_LOG_INFO => Level::Info,
            abi::BRISK_LOG_WARN => Level::Warn,
            _ => Level::Error,
        }
    }
}

/// The host table this library was loaded with (set by the entry point).
/// Each plugin `.so` carries its own copy of this static.
static HOST: AtomicPtr<brisk_host_api> = AtomicPtr::new(core::ptr::null_mut());

pub(crate) fn remember_host(host: &'static brisk_host_api) {
    HOST.store(host as *const brisk_host_api as *mut brisk_host_api, Ordering::Release);
}

pub(crate) fn host() -> Option<&'static brisk_host_api> {
    // SAFETY: only ever set from a host table that lives for the process.
    unsafe { HOST.load(Ordering::Acquire).as_ref() }
}

/// Writes into brisk's log, prefixed with the instance name by brisk. Works
/// anywhere (create, loop hooks, other threads); inside `handle` prefer
/// [`Request::log`], which names the request. Before brisk loaded the plugin
/// (in a plain `cargo test`), the line goes to standard error.
pub fn log(level: Level, message: &str) {
    match host() {
        Some(h) => host_log(h, core::ptr::null_mut(), level, message),
        None => eprintln!("[{:?}] {}", level, message),
    }
}

pub(crate) fn host_log(host: &brisk_host_api, ctx: *mut abi::brisk_ctx, level: Level, message: &str) {
    if let Some(f) = host.log {
        // SAFETY: ctx is NULL or the ctx of the request being handled on
        // this thread; the message outlives the call.
        unsafe { f(ctx, level.code(), brisk_str::from_bytes(message.as_bytes())) }
    }
}
