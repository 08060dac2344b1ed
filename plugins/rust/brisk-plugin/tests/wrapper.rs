//! The safe wrapper, driven through the C trampolines by the fake host.

use brisk_plugin::abi::*;
use brisk_plugin::testing::{fake_host, take_logs, TestConfig, TestPlugin, TestRequest};
use brisk_plugin::{brisk_plugin, Config, Level, Outcome, Plugin, Refused, Request, Response};
use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Answers by path; each path exercises one part of the API.
struct Probe {
    name: String,
    limit: i64,
    verbose: bool,
    ratio: f64,
    loops: Mutex<Vec<u32>>,
}

static DROPS: AtomicUsize = AtomicUsize::new(0);

impl Drop for Probe {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::SeqCst);
    }
}

fn describe(req: &Request) -> String {
    let mut out = format!(
        "method={} target={} path={} query={} host={} body={} minor={} remote={}:{} loop={} conn={}/{}",
        req.method_str().unwrap(),
        req.target_str().unwrap(),
        req.path_str().unwrap(),
        req.query_str().unwrap(),
        req.host_str().unwrap(),
        req.body_str().unwrap(),
        req.http_minor(),
        String::from_utf8_lossy(req.remote_addr()),
        req.remote_port(),
        req.loop_index(),
        req.connection_id(),
        req.request_number(),
    );
    for (name, value) in req.headers() {
        out += &format!("\n{}: {}", String::from_utf8_lossy(name), String::from_utf8_lossy(value));
    }
    out
}

impl Probe {
    fn answer(&self, req: &Request, res: &mut Response) -> Result<(), Refused> {
        match req.path() {
            b"/describe" => res.write(describe(req)),
            b"/lookups" => {
                let show = |v: Option<&[u8]>| v.map_or("-".to_owned(), |v| String::from_utf8_lossy(v).into_owned());
                let line = format!(
                    "x-a0={} x-a1={} x-a2={} q={} q2={} none={} sid={} theme={} nocookie={}",
                    show(req.header("X-A", 0)),
                    show(req.header("x-a", 1)),
                    show(req.header("x-a", 2)),
                    show(req.query_arg("q")),
                    show(req.query_arg("q2")),
                    show(req.query_arg("none")),
                    show(req.cookie("sid")),
                    show(req.cookie("theme")),
                    show(req.cookie("nope")),
                );
                res.write(line)
            }
            b"/full" => {
                res.status(201)?;
                res.header("content-type", "text/plain")?;
                res.header("x-probe", self.name.as_bytes())?;
                res.write("a")?;
                res.write_static(b"b")?;
                let c = 'c';
                write!(res, "{c}")?;
                Ok(())
            }
            b"/misuse" => {
                // Each refused call is counted by the fake host.
                assert_eq!(res.status(99), Err(Refused));
                assert_eq!(res.header("Content-Length", "5"), Err(Refused));
                assert_eq!(res.header("bad name", "x"), Err(Refused));
                assert_eq!(res.header("x-split", "a\r\nb"), Err(Refused));
                res.write("body")?;
                assert_eq!(res.status(404), Err(Refused));
                assert_eq!(res.header("x-late", "1"), Err(Refused));
                assert_eq!(res.stream("chunk"), Err(Refused));
                Ok(())
            }
            b"/stream" => {
                for part in ["one ", "two ", "three"] {
                    res.stream(part)?;
                }
                assert_eq!(res.write("mixed"), Err(Refused));
                Ok(())
            }
            b"/file" => {
                let path = std::env::temp_dir().join(format!("brisk-plugin-test-{}", std::process::id()));
                std::fs::write(&path, "0123456789").unwrap();
                let file = std::fs::File::open(&path).unwrap();
                std::fs::remove_file(&path).unwrap();
                res.send_file(file, 2, 5)
            }
            b"/config" => res.write(format!("{} {} {} {}", self.name, self.limit, self.verbose, self.ratio)),
            b"/log" => {
                req.log(Level::Warn, "from a request");
                Ok(())
            }
            b"/refused" => Err(Refused),
            _ => unreachable!(),
        }
    }
}

impl Plugin for Probe {
    fn create(config: &Config) -> Result<Self, String> {
        if config.bool("panic").unwrap_or(false) {
            panic!("create was told to panic");
        }
        let name = config.string("name").unwrap_or("probe").to_owned();
        if name.contains('\n') {
            return Err(config.error("name", "name must be one line"));
        }
        config.log(Level::Info, "created");
        Ok(Probe {
            name,
            limit: config.int("limit").unwrap_or(-1),
            verbose: config.bool("verbose").unwrap_or(false),
            ratio: config.float("ratio").unwrap_or(0.0),
            loops: Mutex::new(Vec::new()),
        })
    }

    fn handle(&self, req: &Request, res: &mut Response) -> Outcome {
        match req.path() {
            b"/panic" => panic!("boom {}", 42),
            b"/panic-str" => std::panic::panic_any(7u8),
            b"/decline" => Outcome::Decline,
            b"/error" => Outcome::Error,
            _ => self.answer(req, res).into(),
        }
    }

    fn loop_init(&self, loop_index: u32) -> Result<(), String> {
        if loop_index == 99 {
            return Err("no loop 99".into());
        }
        if loop_index == 98 {
            panic!("loop 98 panics");
        }
        self.loops.lock().unwrap().push(loop_index);
        Ok(())
    }

    fn loop_fini(&self, loop_index: u32) {
        self.loops.lock().unwrap().retain(|&i| i != loop_index);
    }
}

brisk_plugin!(Probe, "probe", "2.3.4");

fn probe() -> TestPlugin<Probe> {
    TestPlugin::create(&TestConfig::new().string("name", "p1")).unwrap()
}

#[test]
fn request_views() {
    let req = TestRequest::post("/describe?a=1&b", "payload")
        .header("Host", "example.test")
        .header("X-One", "1")
        .http_minor(0)
        .remote("203.0.113.7", 5555)
        .loop_index(3)
        .connection(9, 4);
    let res = probe().call(&req);
    assert_eq!(res.outcome, Outcome::Done);
    assert_eq!(
        res.text(),
        "method=POST target=/describe?a=1&b path=/describe query=a=1&b host=example.test body=payload \
         minor=0 remote=203.0.113.7:5555 loop=3 conn=9/4\nHost: example.test\nX-One: 1"
    );
}

#[test]
fn header_query_and_cookie_lookups() {
    let req = TestRequest::get("/lookups?q=a%20b+c&q=second&q2")
        .header("x-a", "first")
        .header("X-A", "second")
        .header("Cookie", "theme=dark; sid=\"s1\"")
        .header("cookie", "sid=s2");
    let res = probe().call(&req);
    assert_eq!(res.text(), "x-a0=first x-a1=second x-a2=- q=a b c q2= none=- sid=s1 theme=dark nocookie=-");
}

#[test]
fn non_utf8_views() {
    struct Raw;
    impl Plugin for Raw {
        fn create(_: &Config) -> Result<Self, String> {
            Ok(Raw)
        }
        fn handle(&self, req: &Request, _: &mut Response) -> Outcome {
            assert_eq!(req.path(), b"/\xff");
            assert_eq!(req.path_str(), None);
            assert_eq!(req.header_str("x"), None);
            assert_eq!(req.header("x", 0), Some(&b"\xfe"[..]));
            assert_eq!(req.headers().len(), 1);
            Outcome::Done
        }
    }
    let p = TestPlugin::<Raw>::create(&TestConfig::new()).unwrap();
    let res = p.call(&TestRequest::get(b"/\xff").header("x", b"\xfe"));
    assert_eq!(res.outcome, Outcome::Done);
}

#[test]
fn tls_fields_of_abi_1_2() {
    struct TlsView;
    impl Plugin for TlsView {
        fn create(_: &Config) -> Result<Self, String> {
            Ok(TlsView)
        }
        fn handle(&self, req: &Request, res: &mut Response) -> Outcome {
            let mut out = format!("{} {}", req.scheme(), req.tls());
            for part in [req.tls_protocol(), req.tls_cipher(), req.alpn(), req.tls_server_name()] {
                out.push_str(&format!(" [{}]", String::from_utf8_lossy(part)));
            }
            match res.write(out.as_bytes()) {
                Ok(()) => Outcome::Done,
                Err(_) => Outcome::Error,
            }
        }
    }
    let p = TestPlugin::<TlsView>::create(&TestConfig::new()).unwrap();
    assert_eq!(p.call(&TestRequest::get("/")).text(), "http false [] [] [] []");
    assert_eq!(
        p.call(&TestRequest::get("/").over_tls("example.com")).text(),
        "https true [TLSv1.3] [TLS_AES_128_GCM_SHA256] [http/1.1] [example.com]"
    );
    assert_eq!(
        p.call(&TestRequest::get("/").over_tls_with("", "TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", "")).text(),
        "https true [TLSv1.2] [ECDHE-ECDSA-AES128-GCM-SHA256] [] []"
    );
}

#[test]
fn response_calls() {
    let res = probe().call(&TestRequest::get("/full"));
    assert_eq!(res.outcome, Outcome::Done);
    assert_eq!(res.status, 201);
    assert_eq!(res.header("Content-Type"), Some("text/plain"));
    assert_eq!(res.header("x-probe"), Some("p1"));
    assert_eq!(res.text(), "abc");
    assert_eq!(res.refused, 0);
}

#[test]
fn misuse_is_refused() {
    let res = probe().call(&TestRequest::get("/misuse"));
    assert_eq!(res.outcome, Outcome::Done);
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "body");
    assert_eq!(res.refused, 7);
    assert!(res.headers.is_empty());
}

#[test]
fn streaming() {
    let res = probe().call(&TestRequest::get("/stream"));
    assert_eq!(res.outcome, Outcome::Done);
    assert_eq!(res.chunks, 3);
    assert_eq!(res.text(), "one two three");
    assert_eq!(res.refused, 1);
}

#[test]
fn send_file() {
    let res = probe().call(&TestRequest::get("/file"));
    assert_eq!(res.outcome, Outcome::Done);
    assert_eq!(res.text(), "23456");
}

#[test]
fn outcomes() {
    let p = probe();
    assert_eq!(p.call(&TestRequest::get("/decline")).outcome, Outcome::Decline);
    assert_eq!(p.call(&TestRequest::get("/error")).outcome, Outcome::Error);
    assert_eq!(p.call(&TestRequest::get("/refused")).outcome, Outcome::Error);
    assert_eq!(Outcome::Done.code(), BRISK_DONE);
    assert_eq!(Outcome::Decline.code(), BRISK_DECLINE);
    assert_eq!(Outcome::Error.code(), BRISK_ERROR);
    assert_eq!(Outcome::from_code(12), Outcome::Error);
}

#[test]
fn a_panic_in_handle_is_an_error_and_the_plugin_lives_on() {
    let p = probe();
    let res = p.call(&TestRequest::get("/panic"));
    assert_eq!(res.outcome, Outcome::Error);
    assert_eq!(res.logs.len(), 1);
    let (level, line) = &res.logs[0];
    assert_eq!(*level, Level::Error);
    assert!(line.starts_with("handler panicked at tests/wrapper.rs:"), "{line}");
    assert!(line.ends_with(": boom 42"), "{line}");
    let res = p.call(&TestRequest::get("/panic-str"));
    assert_eq!(res.outcome, Outcome::Error);
    assert!(res.logs[0].1.ends_with(": (no message)"), "{:?}", res.logs);
    assert_eq!(p.call(&TestRequest::get("/full")).text(), "abc");
}

#[test]
fn config_lookups() {
    let config = TestConfig::new().string("name", "n").int("limit", 7).bool("verbose", true).float("ratio", 0.5);
    let p = TestPlugin::<Probe>::create(&config).unwrap();
    assert_eq!(p.call(&TestRequest::get("/config")).text(), "n 7 true 0.5");
    // Values of another type read as absent.
    let config = TestConfig::new().int("name", 1).string("limit", "7").float("verbose", 1.0).int("ratio", 2);
    let p = TestPlugin::<Probe>::create(&config).unwrap();
    assert_eq!(p.call(&TestRequest::get("/config")).text(), "probe -1 false 0");
}

#[test]
fn create_errors() {
    let err = TestPlugin::<Probe>::create(&TestConfig::new().int("limit", 1).string("name", "a\nb")).err();
    assert_eq!(err.as_deref(), Some("test.toml:3:1: name must be one line"));
    let err = TestPlugin::<Probe>::create(&TestConfig::new().bool("panic", true)).err().unwrap();
    assert!(err.starts_with("create panicked at tests/wrapper.rs:"), "{err}");
    assert!(err.ends_with(": create was told to panic"), "{err}");
}

#[test]
fn long_create_errors_are_cut_at_a_character() {
    struct Wordy;
    impl Plugin for Wordy {
        fn create(_: &Config) -> Result<Self, String> {
            Err(format!("line one\n{}", "é".repeat(400)))
        }
        fn handle(&self, _: &Request, _: &mut Response) -> Outcome {
            Outcome::Done
        }
    }
    let err = TestPlugin::<Wordy>::create(&TestConfig::new()).err().unwrap();
    assert!(err.starts_with("line one é"), "{err}");
    assert!(err.len() <= 255);
    assert!(err.ends_with('é'));
}

#[test]
fn logs_outside_requests() {
    take_logs();
    let p = probe();
    assert_eq!(take_logs(), vec![(Level::Info, "created".to_owned())]);
    brisk_plugin::log(Level::Debug, "free-standing");
    assert_eq!(take_logs(), vec![(Level::Debug, "free-standing".to_owned())]);
    assert_eq!(p.call(&TestRequest::get("/log")).logs, vec![(Level::Warn, "from a request".to_owned())]);
}

#[test]
fn loop_hooks() {
    let p = probe();
    take_logs();
    assert!(p.loop_init(0));
    assert!(p.loop_init(1));
    assert_eq!(*p.plugin().loops.lock().unwrap(), vec![0, 1]);
    p.loop_fini(0);
    assert_eq!(*p.plugin().loops.lock().unwrap(), vec![1]);
    assert!(!p.loop_init(99));
    assert!(!p.loop_init(98));
    let logs = take_logs();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0], (Level::Error, "loop_init on loop 99: no loop 99".to_owned()));
    assert!(logs[1].1.starts_with("loop_init on loop 98: panicked at tests/wrapper.rs:"), "{logs:?}");
    assert!(logs[1].1.ends_with(": loop 98 panics"), "{logs:?}");
}

#[test]
fn destroy_drops_the_instance() {
    let before = DROPS.load(Ordering::SeqCst);
    drop(probe());
    assert!(DROPS.load(Ordering::SeqCst) > before);
}

#[test]
fn handle_runs_on_many_threads_at_once() {
    let p = probe();
    std::thread::scope(|s| {
        for t in 0..4 {
            let p = &p;
            s.spawn(move || {
                for i in 0..200 {
                    let res = p.call(&TestRequest::get(format!("/lookups?q={t}-{i}")));
                    assert!(res.text().contains(&format!("q={t}-{i} ")));
                }
            });
        }
    });
}

#[test]
fn entry_point_and_descriptor() {
    let host = fake_host();
    // SAFETY: the fake host table lives for the process.
    let d = unsafe { brisk_plugin_entry_v1(1, 0, host) };
    assert!(!d.is_null());
    let d = unsafe { &*d };
    assert_eq!(d.size as usize, std::mem::size_of::<brisk_plugin_descriptor>());
    assert_eq!((d.abi_major, d.abi_minor, d.min_host_minor), (1, BRISK_PLUGIN_ABI_MINOR, 0));
    assert!(d.stopping.is_some());
    assert_eq!(unsafe { CStr::from_ptr(d.name) }, c"probe");
    assert_eq!(unsafe { CStr::from_ptr(d.version) }, c"2.3.4");
    assert_eq!(d.capabilities, 0);
    assert!(d.create.is_some() && d.handle.is_some() && d.destroy.is_some());
    assert!(d.loop_init.is_some() && d.loop_fini.is_some());
    assert!(d.reserved.iter().all(|p| p.is_null()));
    // A later minor host is fine; another major, no table, or a short table is not.
    assert!(!unsafe { brisk_plugin_entry_v1(1, 7, host) }.is_null());
    take_logs();
    assert!(unsafe { brisk_plugin_entry_v1(2, 0, host) }.is_null());
    assert!(unsafe { brisk_plugin_entry_v1(1, 0, std::ptr::null()) }.is_null());
    let mut short = *host;
    short.size = 40;
    assert!(unsafe { brisk_plugin_entry_v1(1, 0, &short) }.is_null());
    let logs = take_logs();
    assert_eq!(logs.len(), 2);
    assert!(logs[0].1.contains("host offers 2.0"), "{logs:?}");
}
