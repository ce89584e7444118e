//! Issue 12, hole 4: slow clients must not take the servers down. Each server (the daemon,
//! `tufmirror proxy`, `tufmirror serve-static`) runs with its file limit forced to 1,024; the
//! test opens 1,100 connections from 127.0.0.1 (the legitimate client's address too), half of
//! them sending half a request and the rest nothing, then sends one legitimate request. It must be
//! answered with 200 within 5 s, and every slow connection must be closed within 30 s.

mod common;

use common::daemon::DaemonConfig;
use common::{Published, bin};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const FILE_LIMIT: u32 = 1024;
const SLOW_CONNECTIONS: usize = 1100;
/// The bounds.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
const SLOW_CLOSED_WITHIN: Duration = Duration::from_secs(30);

/// A server process started under `ulimit -n 1024`; killed on drop.
struct Limited {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Limited {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tufmirror ARGS` in `dir` with its file limit (soft and hard) at [`FILE_LIMIT`], and
/// waits for its `listening on ADDR` line.
fn start_limited(dir: &Path, args: &[&str]) -> Limited {
    let script = format!("ulimit -n {FILE_LIMIT} && exec \"$0\" \"$@\"");
    let mut command = std::process::Command::new("sh");
    command.arg("-c").arg(script).arg(bin()).args(args).current_dir(dir);
    // Tests touch only loopback.
    for var in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"] {
        command.env_remove(var);
    }
    let mut child = command
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn a server under ulimit");
    let line = common::first_line(&mut child, "tufmirror (under ulimit)");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("`tufmirror {}` did not start: {line:?}", args.join(" ")));
    Limited { child, addr }
}

/// Opens the slow connections: even ones send half a request head, odd ones nothing. A connect
/// that fails (a full backlog) is no connection, not a test failure.
fn flood(addr: SocketAddr) -> Vec<TcpStream> {
    let mut slow = Vec::with_capacity(SLOW_CONNECTIONS);
    for i in 0..SLOW_CONNECTIONS {
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else { continue };
        if i % 2 == 0 {
            let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ");
        }
        slow.push(stream);
    }
    assert!(slow.len() > FILE_LIMIT as usize, "only {} slow connections could be opened", slow.len());
    slow
}

/// The status of `GET path`, if it arrives within `within` (connecting included).
fn status_within(addr: SocketAddr, path: &str, within: Duration) -> Result<u16, String> {
    let start = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, within).map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let left = within.checked_sub(start.elapsed()).ok_or("no answer in time")?;
        stream.set_read_timeout(Some(left.max(Duration::from_millis(1)))).map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => return Err(format!("closed after {:?} without an answer", start.elapsed())),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(format!("no answer within {within:?}"));
            }
            Err(e) => return Err(format!("receive: {e}")),
        }
    }
    let line = String::from_utf8_lossy(&head);
    line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| format!("not HTTP: {line:?}"))
}

/// How many of `slow` are still open once `deadline` has passed (a closed one reads EOF or an
/// error; whatever the server wrote before closing, a 408 say, is read and ignored).
fn still_open_at(slow: Vec<TcpStream>, deadline: Instant) -> usize {
    let mut open = 0;
    for mut stream in slow {
        let mut buf = [0u8; 512];
        loop {
            let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
            stream.set_read_timeout(Some(left)).expect("read timeout");
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    open += 1;
                    break;
                }
                Err(_) => break,
            }
        }
    }
    open
}

/// The scenario against a server at `addr` whose `path` answers 200.
fn survives_slow_clients(what: &str, addr: SocketAddr, path: &str) {
    assert_eq!(status_within(addr, path, ANSWER_WITHIN), Ok(200), "{what}: before the flood");
    let slow = flood(addr);
    let flooded = Instant::now();
    let answer = status_within(addr, path, ANSWER_WITHIN);
    assert_eq!(answer, Ok(200), "{what}: a legitimate request behind {} slow connections", slow.len());
    let open = still_open_at(slow, flooded + SLOW_CLOSED_WITHIN);
    assert_eq!(open, 0, "{what}: slow connections still open {SLOW_CLOSED_WITHIN:?} after the flood");
    assert_eq!(status_within(addr, path, ANSWER_WITHIN), Ok(200), "{what}: after the flood");
}

#[test]
fn the_daemon_answers_behind_1100_slow_connections() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No upstream at all (port 9 refuses): /healthz does not need one.
    DaemonConfig::new("http://127.0.0.1:9/").write(dir.path(), 0);
    let daemon = start_limited(dir.path(), &["serve", "--config", "tufmirror.toml"]);
    survives_slow_clients("tufmirror serve", daemon.addr, "/healthz");
}

#[test]
fn serve_static_answers_behind_1100_slow_connections() {
    let repo = Published::fixture_copy();
    let out = repo.out.to_str().expect("utf-8");
    let server = start_limited(repo.tmp.path(), &["serve-static", "--dir", out, "--listen", "127.0.0.1:0"]);
    survives_slow_clients("tufmirror serve-static", server.addr, "/tuf/1.root.json");
}

#[test]
fn the_proxy_answers_behind_1100_slow_connections() {
    let repo = Published::fixture_copy();
    let root = repo.out.join("tuf/1.root.json");
    let state = repo.tmp.path().join("proxy-state");
    let args = [
        "proxy",
        "--mirror",
        "http://127.0.0.1:9",
        "--root",
        root.to_str().expect("utf-8"),
        "--state",
        state.to_str().expect("utf-8"),
        "--listen",
        "127.0.0.1:0",
    ];
    let proxy = start_limited(repo.tmp.path(), &args);
    survives_slow_clients("tufmirror proxy", proxy.addr, "/healthz");
}
