//! An example brisk plugin in Rust.
//!
//! - `GET PREFIX/hello?name=x` answers "Hello, x!" (text/plain); the greeting
//!   comes from the instance's `greeting` config string.
//! - `GET PREFIX/panic` panics on purpose: brisk answers 500, logs the panic
//!   message, and goes on serving.
//! - Anything else is declined, so the next matching route (or a 404) answers.

use brisk_plugin::{brisk_plugin, Config, Outcome, Plugin, Refused, Request, Response};
use std::sync::atomic::{AtomicU64, Ordering};

/// Names longer than this (in characters) are cut, so a greeting stays one short line.
const MAX_NAME: usize = 64;

pub struct Example {
    greeting: String,
    /// Greetings sent, across all loops.
    greeted: AtomicU64,
}

impl Example {
    fn hello(&self, req: &Request, res: &mut Response) -> Result<(), Refused> {
        // The argument is a view into brisk's buffer; the lossy conversion
        // borrows it unless it must replace bad UTF-8.
        let name = req.query_arg("name").filter(|n| !n.is_empty()).unwrap_or(b"world");
        let name = String::from_utf8_lossy(name);
        let name = match name.char_indices().nth(MAX_NAME) {
            Some((cut, _)) => &name[..cut],
            None => &name[..],
        };
        self.greeted.fetch_add(1, Ordering::Relaxed);
        res.header("content-type", "text/plain; charset=utf-8")?;
        res.write(format!("{}, {}!", self.greeting, name))
    }

    pub fn greeted(&self) -> u64 {
        self.greeted.load(Ordering::Relaxed)
    }
}

impl Plugin for Example {
    fn create(config: &Config) -> Result<Self, String> {
        let greeting = config.string("greeting").unwrap_or("Hello");
        if greeting.trim().is_empty() {
            return Err(config.error("greeting", "greeting must not be empty"));
        }
        Ok(Example { greeting: greeting.to_owned(), greeted: AtomicU64::new(0) })
    }

    fn handle(&self, req: &Request, res: &mut Response) -> Outcome {
        // Routes keep their prefix: under "/rust/" the path is "/rust/hello".
        let path = req.path();
        let last = &path[path.iter().rposition(|&b| b == b'/').unwrap_or(0)..];
        match (req.method(), last) {
            (b"GET" | b"HEAD", b"/hello") => self.hello(req, res).into(),
            (_, b"/panic") => panic!("the /panic route panics on purpose"),
            _ => Outcome::Decline,
        }
    }
}

brisk_plugin!(Example, "rust-example", "1.0.0");

#[cfg(test)]
mod tests {
    use super::*;
    use brisk_plugin::testing::{TestConfig, TestPlugin, TestRequest};

    fn plugin(greeting: &str) -> TestPlugin<Example> {
        TestPlugin::create(&TestConfig::new().string("greeting", greeting)).unwrap()
    }

    #[test]
    fn greets_by_name() {
        let p = plugin("Hi");
        let res = p.call(&TestRequest::get("/rust/hello?name=x"));
        assert_eq!(res.outcome, Outcome::Done);
        assert_eq!(res.status, 200);
        assert_eq!(res.header("Content-Type"), Some("text/plain; charset=utf-8"));
        assert_eq!(res.text(), "Hi, x!");
        assert_eq!(p.plugin().greeted(), 1);
    }

    #[test]
    fn decodes_and_defaults_the_name() {
        let p = TestPlugin::<Example>::create(&TestConfig::new()).unwrap();
        assert_eq!(p.call(&TestRequest::get("/hello")).text(), "Hello, world!");
        assert_eq!(p.call(&TestRequest::get("/hello?name=")).text(), "Hello, world!");
        assert_eq!(p.call(&TestRequest::get("/hello?name=J%C3%BCrgen+K")).text(), "Hello, Jürgen K!");
    }

    #[test]
    fn cuts_long_names() {
        let long = "a".repeat(500);
        let res = plugin("Hi").call(&TestRequest::get(format!("/hello?name={long}")));
        assert_eq!(res.body.len(), "Hi, !".len() + MAX_NAME);
    }

    #[test]
    fn declines_other_paths_and_methods() {
        let p = plugin("Hi");
        assert_eq!(p.call(&TestRequest::get("/rust/other")).outcome, Outcome::Decline);
        assert_eq!(p.call(&TestRequest::post("/rust/hello", "x")).outcome, Outcome::Decline);
    }

    #[test]
    fn a_panic_costs_one_request() {
        let p = plugin("Hi");
        let res = p.call(&TestRequest::get("/rust/panic"));
        assert_eq!(res.outcome, Outcome::Error);
        assert!(res.logs.iter().any(|(_, line)| line.contains("panics on purpose")));
        assert_eq!(p.call(&TestRequest::get("/rust/hello?name=y")).text(), "Hi, y!");
    }

    #[test]
    fn refuses_an_empty_greeting() {
        let err = TestPlugin::<Example>::create(&TestConfig::new().string("greeting", " ")).err().unwrap();
        assert_eq!(err, "test.toml:2:1: greeting must not be empty");
    }
}
