//! The `config` table of a plugin instance, readable during `create`.

use crate::abi::{brisk_config, brisk_host_api, brisk_str};
use crate::plugin::{host_log, Level};
use core::marker::PhantomData;

/// An instance's `config` table (`[plugins.NAME] config = { ... }`), typed
/// lookups only. Keys of nested tables are joined with '.' ("db.host").
/// Lookups return `None` for a key that is absent or of another type.
/// The config and the strings it returns live during `create` only: copy
/// what the instance keeps.
pub struct Config<'c> {
    cfg: *const brisk_config,
    host: &'c brisk_host_api,
    _thread_bound: PhantomData<*const brisk_config>,
}

impl<'c> Config<'c> {
    /// # Safety
    /// `cfg` and `host` are the arguments of one `create` call, and the value
    /// does not outlive that call.
    pub unsafe fn from_raw(cfg: *const brisk_config, host: &'c brisk_host_api) -> Self {
        Config { cfg, host, _thread_bound: PhantomData }
    }

    fn key(key: &str) -> brisk_str {
        brisk_str::from_bytes(key.as_bytes())
    }

    /// A string value (`None` if absent, not a string, or not UTF-8).
    pub fn string(&self, key: &str) -> Option<&'c str> {
        let f = self.host.config_string?;
        let mut out = brisk_str::empty();
        // SAFETY: cfg is the table of the create call 'c does not outlive.
        if unsafe { f(self.cfg, Self::key(key), &mut out) } != 0 {
            return None;
        }
        // SAFETY: the host's string lives while the config does ('c).
        core::str::from_utf8(unsafe { out.as_bytes() }).ok()
    }

    /// An integer value.
    pub fn int(&self, key: &str) -> Option<i64> {
        let f = self.host.config_int?;
        let mut out = 0i64;
        // SAFETY: as in string().
        (unsafe { f(self.cfg, Self::key(key), &mut out) } == 0).then_some(out)
    }

    /// A boolean value.
    pub fn bool(&self, key: &str) -> Option<bool> {
        let f = self.host.config_bool?;
        let mut out = 0i32;
        // SAFETY: as in string().
        (unsafe { f(self.cfg, Self::key(key), &mut out) } == 0).then_some(out != 0)
    }

    /// A floating-point value (TOML float).
    pub fn float(&self, key: &str) -> Option<f64> {
        let f = self.host.config_double?;
        let mut out = 0f64;
        // SAFETY: as in string().
        (unsafe { f(self.cfg, Self::key(key), &mut out) } == 0).then_some(out)
    }

    /// Where `key` is in the config file, "file:line:column", or where the
    /// table is when the key is absent (the host's `config_where`).
    pub fn location(&self, key: &str) -> String {
        let Some(f) = self.host.config_where else {
            return String::new();
        };
        // SAFETY: as in string().
        let at = unsafe { f(self.cfg, Self::key(key)) };
        // SAFETY: the host's string lives while the config does.
        String::from_utf8_lossy(unsafe { at.as_bytes() }).into_owned()
    }

    /// "file:line:column: message" for `key`: the error `create` returns.
    pub fn error(&self, key: &str, message: impl core::fmt::Display) -> String {
        let at = self.location(key);
        if at.is_empty() {
            format!("{key}: {message}")
        } else {
            format!("{at}: {message}")
        }
    }

    /// Writes into brisk's log, prefixed with the instance name.
    pub fn log(&self, level: Level, message: &str) {
        host_log(self.host, core::ptr::null_mut(), level, message)
    }

    /// The raw config handle.
    pub fn raw(&self) -> *const brisk_config {
        self.cfg
    }
}

impl core::fmt::Debug for Config<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config").finish_non_exhaustive()
    }
}
