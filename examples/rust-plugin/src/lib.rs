//! An example brisk plugin in Rust.
//!
//! - `GET PREFIX/hello?name=x` answers "Hello, x!" (text/plain); the greeting
//!   comes from the instance's `greeting` config string.
//! - `GET PREFIX/panic` panics on purpose: brisk answers 500, logs the panic
//!   message, and goes on serving.
//! - `GET PREFIX/later?ms=N` (0 to 10000) is answered from a thread of the
//!   plugin's own after N ms: "waited N ms" (ABI 1.1: suspend, resume). A
//!   missing or bad N is 400.
//! - `GET PREFIX/count?n=N` (1 to 100000) streams N lines "line I" from a
//!   thread, waiting for the client when brisk's bound is reached (ABI 1.1:
//!   a stream with backpressure); a client that leaves stops the thread.
//! - Anything else is declined, so the next matching route (or a 404) answers.

use brisk_plugin::{brisk_plugin, Config, Later, Outcome, Plugin, Refused, Request, Response, Sent};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

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

    /// A whole-number query argument within `max`, else a 400 answered now.
    fn number(req: &Request, res: &mut Response, name: &str, min: u64, max: u64) -> Result<u64, Outcome> {
        match req.query_arg_str(name).and_then(|v| v.parse::<u64>().ok()).filter(|n| (min..=max).contains(n)) {
            Some(n) => Ok(n),
            None => {
                let refused = res.status(400).and_then(|_| res.write(format!("{name} must be {min} to {max}\n")));
                Err(refused.into())
            }
        }
    }

    fn later(req: &Request, res: &mut Response) -> Outcome {
        let ms = match Self::number(req, res, "ms", 0, 10_000) {
            Ok(ms) => ms,
            Err(answered) => return answered,
        };
        let Ok(later) = res.suspend(|| {}) else { return Outcome::Error };
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(ms));
            // Err only if the client left meanwhile: nothing to do then.
            let _ = later.resume(200, &[("content-type", "text/plain")], format!("waited {ms} ms\n").as_bytes());
        });
        Outcome::Done
    }

    fn count(req: &Request, res: &mut Response) -> Outcome {
        let n = match Self::number(req, res, "n", 1, 100_000) {
            Ok(n) => n,
            Err(answered) => return answered,
        };
        // The drain callback and the cancel wake the thread that waits for them.
        let (wake, woken) = mpsc::channel::<()>();
        let on_cancel = wake.clone();
        let Ok(later) = res.suspend(move || {
            let _ = on_cancel.send(());
        }) else {
            return Outcome::Error;
        };
        if later
            .open_stream(200, &[("content-type", "text/plain")], move || {
                let _ = wake.send(());
            })
            .is_err()
        {
            return Outcome::Error;
        }
        std::thread::spawn(move || stream_lines(later, n, woken));
        Outcome::Done
    }
}

/// Sends lines 1 to `n`, waiting for a wake-up whenever brisk's bound is reached.
fn stream_lines(later: Later, n: u64, woken: mpsc::Receiver<()>) {
    let mut i = 1;
    while i <= n {
        match later.send(format!("line {i}\n").as_bytes()) {
            Sent::Taken => i += 1,
            // A client that reads nothing for long is closed by brisk's write timeout (a cancel, which wakes us).
            Sent::Full => {
                if woken.recv_timeout(Duration::from_secs(60)).is_err() {
                    return;
                }
            }
            Sent::Gone => return,
        }
    }
    let _ = later.end();
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
            (b"GET" | b"HEAD", b"/later") => Self::later(req, res),
            (b"GET" | b"HEAD", b"/count") => Self::count(req, res),
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
    fn answers_later_from_a_thread() {
        let p = plugin("Hi");
        let handle = p.call(&TestRequest::get("/rust/later?ms=5")).suspended.expect("suspended");
        let mut answer = None;
        for _ in 0..1000 {
            answer = brisk_plugin::testing::later(handle);
            if answer.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(answer.expect("answered").body, b"waited 5 ms\n");
        let bad = p.call(&TestRequest::get("/rust/later?ms=x"));
        assert_eq!((bad.status, bad.suspended), (400, None));
    }

    #[test]
    fn streams_lines_waiting_for_the_client() {
        let p = plugin("Hi");
        let handle = p.call(&TestRequest::get("/rust/count?n=20000")).suspended.expect("suspended");
        let mut answer = brisk_plugin::testing::later(handle).expect("streamed");
        for _ in 0..10_000 {
            if answer.ended {
                break;
            }
            brisk_plugin::testing::client_read(handle);
            std::thread::sleep(Duration::from_millis(1));
            answer = brisk_plugin::testing::later(handle).unwrap();
        }
        assert!(answer.ended);
        let text = String::from_utf8(answer.body).unwrap();
        assert_eq!(text.lines().count(), 20000);
        assert_eq!(text.lines().last(), Some("line 20000"));
    }

    #[test]
    fn refuses_an_empty_greeting() {
        let err = TestPlugin::<Example>::create(&TestConfig::new().string("greeting", " ")).err().unwrap();
        assert_eq!(err, "test.toml:2:1: greeting must not be empty");
    }
}
