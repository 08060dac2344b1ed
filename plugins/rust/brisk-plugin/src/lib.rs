//! Write brisk handler plugins in Rust.
//!
//! A plugin is a `cdylib` that brisk loads with `dlopen`. This crate mirrors
//! the C ABI of `core/include/brisk/plugin_abi.h` (module [`abi`]) and wraps it
//! in safe types: implement [`Plugin`] for your type and name it with
//! [`brisk_plugin!`], which exports `brisk_plugin_entry_v1`.
//!
//! ```no_run
//! use brisk_plugin::{brisk_plugin, Config, Outcome, Plugin, Request, Response};
//!
//! struct Hello {
//!     greeting: String,
//! }
//!
//! impl Plugin for Hello {
//!     fn create(config: &Config) -> Result<Self, String> {
//!         Ok(Hello { greeting: config.string("greeting").unwrap_or("Hello").to_owned() })
//!     }
//!
//!     fn handle(&self, req: &Request, res: &mut Response) -> Outcome {
//!         if req.path() != b"/hello" {
//!             return Outcome::Decline;
//!         }
//!         let name = req.query_arg_str("name").unwrap_or("world");
//!         res.header("content-type", "text/plain; charset=utf-8")
//!             .and_then(|_| res.write(format!("{}, {}!", self.greeting, name)))
//!             .into()
//!     }
//! }
//!
//! brisk_plugin!(Hello, "hello", "1.0.0");
//! ```
//!
//! Rules the types enforce or document:
//! - Request views borrow from the connection's buffer and live until
//!   `handle` returns: the borrow checker keeps them from escaping.
//! - [`Request`] and [`Response`] are neither `Send` nor `Sync`: the host
//!   functions behind them may only be called on the thread running `handle`.
//! - `handle` runs on several threads at once, so a plugin is `Send + Sync`.
//! - A panic never crosses into brisk: in `handle` it becomes
//!   [`Outcome::Error`] (a 500 if nothing was sent) and one line in brisk's
//!   log, "handler panicked at FILE:LINE:COL: MESSAGE"; in `create` a failed
//!   start-up with that message. Rust's own report on standard error is left
//!   out for these panics unless `RUST_BACKTRACE` is set. This needs
//!   `panic = "unwind"`, the default; with `panic = "abort"` a panic ends
//!   the server.
//!
//! Module [`testing`] runs a plugin against a fake host, without a server.

pub mod abi;
mod config;
mod glue;
mod later;
mod plugin;
mod request;
mod response;
pub mod testing;

pub use config::Config;
pub use later::{last_error, start_timer, Later, Sent, Timer};
pub use plugin::{log, Level, Outcome, Plugin};
pub use request::{Headers, Request};
pub use response::{Refused, Response};

/// Used by [`brisk_plugin!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::glue::{c_str, descriptor, entry, Descriptor};
}

/// Exports a [`Plugin`] type as a brisk plugin.
///
/// `brisk_plugin!(MyType, "name", "1.0.0")` generates the entry symbol
/// `brisk_plugin_entry_v1` and a static descriptor naming the plugin and its
/// version. Add `blocking` (`brisk_plugin!(MyType, "name", "1.0.0", blocking)`)
/// when `handle` may block on disk, network or locks: brisk then runs it on
/// its blocking thread pool instead of an event loop; add `body_stream` when
/// `handle` reads request bodies as they arrive ([`Later::read_body`]: it
/// sees the head first, with the body empty). Use the macro once per
/// `cdylib`, at module level; `name` and `version` are string literals.
#[macro_export]
macro_rules! brisk_plugin {
    (@export $ty:ty, $name:literal, $version:literal, $caps:expr) => {
        #[doc(hidden)]
        static __BRISK_PLUGIN_DESCRIPTOR: $crate::__private::Descriptor = $crate::__private::descriptor::<$ty>(
            $crate::__private::c_str(concat!($name, "\0")),
            $crate::__private::c_str(concat!($version, "\0")),
            $caps,
        );

        /// The entry point brisk looks up (`BRISK_PLUGIN_ENTRY_V1`).
        ///
        /// # Safety
        /// `host` is NULL or a host table that lives for the process.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn brisk_plugin_entry_v1(
            host_abi_major: u32,
            host_abi_minor: u32,
            host: *const $crate::abi::brisk_host_api,
        ) -> *const $crate::abi::brisk_plugin_descriptor {
            unsafe { $crate::__private::entry(&__BRISK_PLUGIN_DESCRIPTOR, host_abi_major, host_abi_minor, host) }
        }
    };
    ($ty:ty, $name:literal, $version:literal, blocking $(,)?) => {
        $crate::brisk_plugin!(@export $ty, $name, $version, $crate::abi::BRISK_CAP_BLOCKING);
    };
    ($ty:ty, $name:literal, $version:literal, body_stream $(,)?) => {
        $crate::brisk_plugin!(@export $ty, $name, $version, $crate::abi::BRISK_CAP_BODY_STREAM);
    };
    ($ty:ty, $name:literal, $version:literal $(,)?) => {
        $crate::brisk_plugin!(@export $ty, $name, $version, 0u64);
    };
}
