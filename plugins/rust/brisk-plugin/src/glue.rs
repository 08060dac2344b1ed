//! The C side of a plugin: the descriptor and the trampolines it points to.
//! Every trampoline catches panics, so nothing unwinds into brisk.

use crate::abi::*;
use crate::plugin::{host_log, remember_host, Level};
use crate::{Config, Plugin, Request, Response};
use core::cell::Cell;
use core::ffi::{c_char, c_void, CStr};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

/// A descriptor in a `static`: its raw pointers only point to static data.
#[repr(transparent)]
pub struct Descriptor(pub brisk_plugin_descriptor);

// SAFETY: the descriptor is immutable; its pointers are to static strings
// and functions.
unsafe impl Sync for Descriptor {}

/// What the boxed `void*` of an instance points to.
struct Instance<T> {
    host: &'static brisk_host_api,
    plugin: T,
}

/// A NUL-terminated literal as a C string, checked at compile time.
pub const fn c_str(s: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(s.as_bytes()) {
        Ok(c) => c,
        Err(_) => panic!("a plugin name or version must not contain NUL"),
    }
}

/// The descriptor of plugin type `T`, for `static` storage.
pub const fn descriptor<T: Plugin>(name: &'static CStr, version: &'static CStr, capabilities: u64) -> Descriptor {
    Descriptor(brisk_plugin_descriptor {
        size: core::mem::size_of::<brisk_plugin_descriptor>() as u32,
        abi_major: BRISK_PLUGIN_ABI_MAJOR,
        abi_minor: BRISK_PLUGIN_ABI_MINOR,
        min_host_minor: 0,
        name: name.as_ptr(),
        version: version.as_ptr(),
        capabilities,
        create: Some(create::<T> as brisk_create_fn),
        loop_init: Some(loop_init::<T> as brisk_loop_init_fn),
        handle: Some(handle::<T> as brisk_handle_fn),
        loop_fini: Some(loop_fini::<T> as brisk_loop_fini_fn),
        destroy: Some(destroy::<T> as brisk_destroy_fn),
        reserved: [core::ptr::null_mut(); 8],
        stopping: Some(stopping::<T> as brisk_stopping_fn),
    })
}

/// The body of `brisk_plugin_entry_v1`: checks the host, keeps its table,
/// returns the descriptor (or NULL to refuse loading).
///
/// # Safety
/// `host` is NULL or a host table that lives for the process.
pub unsafe fn entry(
    descriptor: &'static Descriptor,
    host_abi_major: u32,
    host_abi_minor: u32,
    host: *const brisk_host_api,
) -> *const brisk_plugin_descriptor {
    // SAFETY: the caller's promise.
    let Some(host) = (unsafe { host.as_ref() }) else {
        return core::ptr::null();
    };
    let d = &descriptor.0;
    // Every function of ABI 1.0 sits before `reserved`.
    let complete = host.size as usize >= core::mem::offset_of!(brisk_host_api, reserved);
    if host_abi_major != d.abi_major || host_abi_minor < d.min_host_minor || !complete {
        let message = format!(
            "this plugin needs brisk plugin ABI {}.{}+, the host offers {}.{} (table of {} bytes)",
            d.abi_major, d.min_host_minor, host_abi_major, host_abi_minor, host.size
        );
        host_log(host, core::ptr::null_mut(), Level::Error, &message);
        return core::ptr::null();
    }
    remember_host(host);
    install_panic_hook();
    d
}

thread_local! {
    /// Whether this thread runs plugin code inside a trampoline.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic caught by a trampoline happened.
    static PANIC_AT: Cell<Option<String>> = const { Cell::new(None) };
}

/// Makes panics that a trampoline catches quiet: their place is kept for the
/// log line brisk writes, instead of the default report on standard error
/// (which would also capture a backtrace on every panicking request). With
/// RUST_BACKTRACE set, the default report is printed as well. Panics
/// elsewhere go to the previous hook. The hook belongs to this `.so`'s copy
/// of std, so other plugins and brisk are unaffected.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let verbose = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let caught = CATCHING.with(Cell::get);
            if caught {
                let at = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                let _ = PANIC_AT.try_with(|p| p.set(at));
            }
            if !caught || verbose {
                previous(info);
            }
        }));
    });
}

/// The message of a panic payload (`panic!("...")` carries a &str or String).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// Runs plugin code, turning a panic into "panicked at FILE:LINE:COL: MESSAGE".
pub(crate) fn guarded<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    let outer = CATCHING.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(outer));
    result.map_err(|payload| {
        let message = panic_message(&*payload).to_owned();
        // A payload whose drop panics again is leaked.
        if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            core::mem::forget(again);
        }
        match PANIC_AT.try_with(Cell::take).ok().flatten() {
            Some(at) => format!("panicked at {at}: {message}"),
            None => format!("panicked: {message}"),
        }
    })
}

/// Writes `message` on one line into the host's buffer: NUL-terminated,
/// `error_len` bytes at most, cut at a character boundary.
///
/// # Safety
/// `error` is NULL or points to `error_len` writable bytes.
unsafe fn write_error(error: *mut c_char, error_len: u64, message: &str) {
    if error.is_null() || error_len == 0 {
        return;
    }
    let room = usize::try_from(error_len - 1).unwrap_or(usize::MAX);
    let mut end = message.len().min(room);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let out = error as *mut u8;
    for (i, &b) in message.as_bytes()[..end].iter().enumerate() {
        let b = if b == b'\n' || b == b'\r' { b' ' } else { b };
        // SAFETY: i < end <= error_len - 1.
        unsafe { out.add(i).write(b) };
    }
    // SAFETY: end <= error_len - 1.
    unsafe { out.add(end).write(0) };
}

unsafe extern "C" fn create<T: Plugin>(
    host: *const brisk_host_api,
    config: *const brisk_config,
    error: *mut c_char,
    error_len: u64,
) -> *mut c_void {
    // SAFETY: the host passes its process-long table (or NULL).
    let host: &'static brisk_host_api = match unsafe { host.as_ref() }.or_else(crate::plugin::host) {
        Some(h) => h,
        None => {
            // SAFETY: the host's error buffer.
            unsafe { write_error(error, error_len, "no host function table") };
            return core::ptr::null_mut();
        }
    };
    let made = guarded(|| {
        // SAFETY: config is valid during this call, which the value does not outlive.
        let config = unsafe { Config::from_raw(config, host) };
        T::create(&config)
    });
    let reason = match made {
        Ok(Ok(plugin)) => return Box::into_raw(Box::new(Instance { host, plugin })) as *mut c_void,
        Ok(Err(reason)) => reason,
        Err(panicked) => format!("create {panicked}"),
    };
    // SAFETY: the host's error buffer.
    unsafe { write_error(error, error_len, &reason) };
    core::ptr::null_mut()
}

unsafe extern "C" fn loop_init<T: Plugin>(instance: *mut c_void, loop_index: u32) -> i32 {
    // SAFETY: instance comes from create::<T> and lives until destroy.
    let Some(instance) = (unsafe { (instance as *const Instance<T>).as_ref() }) else {
        return -1;
    };
    let reason = match guarded(|| instance.plugin.loop_init(loop_index)) {
        Ok(Ok(())) => return 0,
        Ok(Err(reason)) => reason,
        Err(panicked) => panicked,
    };
    let message = format!("loop_init on loop {loop_index}: {reason}");
    host_log(instance.host, core::ptr::null_mut(), Level::Error, &message);
    -1
}

unsafe extern "C" fn handle<T: Plugin>(
    instance: *mut c_void,
    ctx: *mut brisk_ctx,
    request: *const brisk_request,
) -> i32 {
    // SAFETY: instance comes from create::<T> and lives until destroy;
    // request is valid until this call returns.
    let (Some(instance), Some(raw)) =
        (unsafe { (instance as *const Instance<T>).as_ref() }, unsafe { request.as_ref() })
    else {
        return BRISK_ERROR;
    };
    let answered = guarded(|| {
        // SAFETY: the values live in this closure, inside this call.
        let req = unsafe { Request::from_raw(raw, ctx, instance.host) };
        let mut res = unsafe { Response::from_raw(ctx, instance.host) };
        let outcome = instance.plugin.handle(&req, &mut res);
        // Any other outcome undoes a suspension: no callback of it will run.
        if let (Some(key), false) = (res.suspended_key(), outcome == crate::Outcome::Done) {
            crate::later::forget(key);
        }
        outcome
    });
    match answered {
        Ok(outcome) => outcome.code(),
        Err(panicked) => {
            host_log(instance.host, ctx, Level::Error, &format!("handler {panicked}"));
            BRISK_ERROR
        }
    }
}

unsafe extern "C" fn loop_fini<T: Plugin>(instance: *mut c_void, loop_index: u32) {
    // SAFETY: as in loop_init.
    let Some(instance) = (unsafe { (instance as *const Instance<T>).as_ref() }) else {
        return;
    };
    if let Err(panicked) = guarded(|| instance.plugin.loop_fini(loop_index)) {
        let message = format!("loop_fini on loop {loop_index}: {panicked}");
        host_log(instance.host, core::ptr::null_mut(), Level::Error, &message);
    }
}

unsafe extern "C" fn stopping<T: Plugin>(instance: *mut c_void, loop_index: u32) {
    // SAFETY: as in loop_init.
    let Some(instance) = (unsafe { (instance as *const Instance<T>).as_ref() }) else {
        return;
    };
    if let Err(panicked) = guarded(|| instance.plugin.stopping(loop_index)) {
        let message = format!("stopping on loop {loop_index}: {panicked}");
        host_log(instance.host, core::ptr::null_mut(), Level::Error, &message);
    }
}

unsafe extern "C" fn destroy<T: Plugin>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // SAFETY: instance comes from Box::into_raw in create::<T>; brisk
    // destroys it once.
    let boxed = unsafe { Box::from_raw(instance as *mut Instance<T>) };
    let host = boxed.host;
    if let Err(panicked) = guarded(move || drop(boxed)) {
        host_log(host, core::ptr::null_mut(), Level::Error, &format!("destroy {panicked}"));
    }
}

/// The plugin value inside an instance pointer.
///
/// # Safety
/// `instance` comes from `create::<T>` and is not destroyed during `'a`.
pub(crate) unsafe fn plugin_of<'a, T: Plugin>(instance: *mut c_void) -> &'a T {
    unsafe { &(*(instance as *const Instance<T>)).plugin }
}
