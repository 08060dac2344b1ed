//! ABI 1.1 through the safe wrapper and the fake host: requests answered
//! later from another thread, streams with backpressure, bodies read piece by
//! piece, upgraded and hijacked connections, timers, cancels, refusals and
//! their reasons.

use brisk_plugin::abi::BRISK_CAP_BODY_STREAM;
use brisk_plugin::testing::{self, TestConfig, TestPlugin, TestRequest};
use brisk_plugin::{last_error, start_timer, Config, Later, Outcome, Plugin, Request, Response, Sent};
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every request is suspended; the path says how it is answered.
struct Later11 {
    cancels: Arc<AtomicUsize>,
}

const PIECE: usize = 30_000;

/// Sends PIECE bytes `left` times, until refused; the drain callback goes on.
fn pump(later: &Later, left: &Mutex<u32>) {
    let mut n = left.lock().unwrap();
    while *n > 0 {
        match later.send(&vec![b'a' + *n as u8; PIECE]) {
            Sent::Taken => *n -= 1,
            Sent::Full | Sent::Gone => return,
        }
    }
    later.end().unwrap();
}

impl Plugin for Later11 {
    fn create(_: &Config) -> Result<Self, String> {
        Ok(Later11 { cancels: Arc::new(AtomicUsize::new(0)) })
    }

    fn handle(&self, req: &Request, res: &mut Response) -> Outcome {
        let cancels = Arc::clone(&self.cancels);
        let later = match res.suspend(move || {
            cancels.fetch_add(1, Ordering::SeqCst);
        }) {
            Ok(l) => l,
            Err(_) => return Outcome::Error,
        };
        match req.path() {
            b"/thread" => {
                // Nothing of the request outlives handle: copy what the answer needs.
                let name = req.query_arg_str("name").unwrap_or("nobody").to_owned();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(10));
                    later.resume(200, &[("Content-Type", "text/plain")], format!("hi {name}").as_bytes()).unwrap();
                    assert!(later.resume(200, &[], b"twice").is_err());
                });
            }
            b"/stream" => {
                let left = Arc::new(Mutex::new(5));
                let again = Arc::clone(&left);
                let drained = later;
                later.open_stream(200, &[("Content-Type", "text/plain")], move || pump(&drained, &again)).unwrap();
                pump(&later, &left);
            }
            b"/body" => {
                let total = Arc::new(AtomicUsize::new(0));
                fn next(later: Later, total: Arc<AtomicUsize>) {
                    let t = Arc::clone(&total);
                    later
                        .read_body(move |bytes, last| {
                            t.fetch_add(bytes.len(), Ordering::SeqCst);
                            if last {
                                let n = t.load(Ordering::SeqCst);
                                later.resume(200, &[], format!("{n} bytes").as_bytes()).unwrap();
                            } else {
                                next(later, t);
                            }
                        })
                        .unwrap();
                }
                next(later, total);
            }
            b"/ws" => {
                let echo = later;
                later
                    .upgrade(
                        &[("Upgrade", "echo")],
                        move |bytes| {
                            if bytes == b"bye" {
                                echo.end().unwrap();
                            } else {
                                assert_eq!(echo.send(bytes), Sent::Taken);
                            }
                        },
                        || {},
                    )
                    .unwrap();
                later.upgrade_timeout(250).unwrap();
            }
            b"/take" => {
                later
                    .hijack(move |fd, ahead| {
                        // SAFETY: the socket is the plugin's until close_taken.
                        let mut sock = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
                        sock.write_all(b"taken:").unwrap();
                        sock.write_all(ahead).unwrap();
                        assert_eq!(later.send(b"x"), Sent::Gone);
                        assert!(last_error().contains("not an open stream"), "{}", last_error());
                        later.close_taken().unwrap();
                        assert!(later.close_taken().is_err());
                    })
                    .unwrap();
            }
            b"/timer" => {
                start_timer(100, move || later.resume(204, &[], b"").unwrap()).expect("a timer");
                let never = start_timer(50, || panic!("cancelled, never fires")).expect("a timer");
                assert!(never.cancel());
            }
            b"/undo" => return Outcome::Error, // undoes the suspension: no callback
            _ => {}                            // answered never: the test cancels it
        }
        Outcome::Done
    }
}

fn plugin() -> TestPlugin<Later11> {
    TestPlugin::<Later11>::create_with(&TestConfig::new(), BRISK_CAP_BODY_STREAM).unwrap()
}

#[test]
fn a_request_answered_from_another_thread() {
    let p = plugin();
    let res = p.call(&TestRequest::get("/thread?name=ann"));
    assert_eq!(res.outcome, Outcome::Done);
    let handle = res.suspended.expect("suspended");
    let mut answer = None;
    for _ in 0..1000 {
        answer = testing::later(handle);
        if answer.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let answer = answer.expect("answered");
    assert_eq!((answer.status, answer.body.as_slice()), (200, &b"hi ann"[..]));
    assert_eq!(answer.headers, vec![("Content-Type".to_owned(), "text/plain".to_owned())]);
    assert!(!testing::cancel(handle)); // answered: nothing to cancel
}

#[test]
fn a_stream_waits_for_the_client_then_ends() {
    let p = plugin();
    let handle = p.call(&TestRequest::get("/stream")).suspended.unwrap();
    let body = |h| testing::later(h).unwrap().body.len();
    // Two pieces fit under the bound (64 KiB unread); the third waits for the client.
    assert_eq!(body(handle), 2 * PIECE);
    assert!(!testing::later(handle).unwrap().ended);
    let mut drains = 0;
    while testing::client_read(handle) {
        drains += 1;
    }
    let answer = testing::later(handle).unwrap();
    assert!(answer.streamed && answer.ended);
    assert_eq!(answer.body.len(), 5 * PIECE);
    assert_eq!(answer.body[4 * PIECE], b'a' + 1);
    assert_eq!(drains, 2);
}

#[test]
fn a_body_read_piece_by_piece() {
    let p = plugin();
    let res = p.call(&TestRequest::post("/body", vec![b'b'; 50_000]));
    let handle = res.suspended.unwrap();
    assert_eq!(testing::feed_body(handle, 16384), 4);
    assert_eq!(testing::later(handle).unwrap().body, b"50000 bytes");
}

#[test]
fn an_upgraded_connection_echoes_until_the_plugin_ends_it() {
    let p = plugin();
    let req = TestRequest::get("/ws").header("Upgrade", "echo").header("Connection", "keep-alive, Upgrade");
    let handle = p.call(&req).suspended.unwrap();
    let answer = testing::later(handle).unwrap();
    assert!(answer.upgraded);
    assert_eq!(answer.status, 101);
    assert_eq!(answer.idle_timeout_ms, 250);
    assert!(testing::client_send(handle, b"one"));
    assert!(testing::client_send(handle, b"two"));
    assert_eq!(testing::later(handle).unwrap().body, b"onetwo");
    assert!(testing::client_send(handle, b"bye"));
    assert!(testing::later(handle).unwrap().ended);
    assert!(!testing::client_send(handle, b"late"));
}

#[test]
fn an_upgrade_the_request_did_not_ask_for_is_refused() {
    let p = plugin();
    let handle = p.call(&TestRequest::get("/ws")).suspended;
    // The plugin's unwrap panicked: handle failed, which undid the suspension.
    assert!(handle.is_some_and(|h| testing::later(h).is_none()));
}

#[test]
fn a_hijacked_connection_is_the_plugins_until_it_closes_it() {
    let p = plugin();
    let handle = p.call(&TestRequest::get("/take")).suspended.unwrap();
    assert!(testing::later(handle).unwrap().hijacked);
    let client = testing::hand_over(handle, b"ahead").expect("a pending hijack");
    let mut client = std::fs::File::from(client);
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap(); // EOF: closed by close_taken
    assert_eq!(got, b"taken:ahead");
    assert!(testing::later(handle).unwrap().closed);
    assert!(testing::hand_over(handle, b"").is_none());
}

#[test]
fn a_timer_answers_and_a_cancelled_one_never_fires() {
    let p = plugin();
    let handle = p.call(&TestRequest::get("/timer")).suspended.unwrap();
    assert!(testing::later(handle).is_none());
    testing::advance(99);
    assert!(testing::later(handle).is_none());
    testing::advance(1);
    assert_eq!(testing::later(handle).unwrap().status, 204);
}

#[test]
fn a_cancel_runs_once_and_later_calls_refuse() {
    let p = plugin();
    let handle = p.call(&TestRequest::get("/never")).suspended.unwrap();
    assert!(testing::cancel(handle));
    assert!(!testing::cancel(handle));
    assert_eq!(p.plugin().cancels.load(Ordering::SeqCst), 1);
}

#[test]
fn an_error_outcome_undoes_the_suspension() {
    let p = plugin();
    let res = p.call(&TestRequest::get("/undo"));
    assert_eq!(res.outcome, Outcome::Error);
    let cancels = p.plugin().cancels.load(Ordering::SeqCst);
    // Whatever the fake does with the handle, the wrapper dropped the callbacks: no cancel reaches the plugin.
    testing::cancel(res.suspended.unwrap());
    assert_eq!(p.plugin().cancels.load(Ordering::SeqCst), cancels);
}
