//! Shared helpers: loopback servers (axum for well-behaved ones, raw TCP for misbehaviour), a
//! fast client configuration, and re-running this test binary in a child process for tests that
//! need their own environment variables.
#![allow(dead_code)]

use axum::Router;
use std::future::Future;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tufmirror_index::CrateName;
use tufmirror_upstream::{DownloadHosts, ProxySetting, UpstreamConfig, Url};

/// A client configuration for loopback tests: short waits, two retries, and no proxy, so that a
/// developer's `HTTP_PROXY` cannot send loopback requests elsewhere.
pub(crate) fn config(base: &str) -> UpstreamConfig {
    let mut c = UpstreamConfig::new(Url::parse(base).expect("valid base URL"));
    c.proxy = ProxySetting::Direct;
    c.connect_timeout = Duration::from_secs(2);
    c.timeout = Duration::from_secs(5);
    c.crate_timeout = Duration::from_secs(5);
    c.retries = 2;
    c.backoff_initial = Duration::from_millis(10);
    c.backoff_max = Duration::from_millis(50);
    c.retry_after_max = Duration::from_secs(5);
    // The test servers are on loopback, which downloads reach only when it is listed.
    c.download_hosts = DownloadHosts::listed(&["127.0.0.1".to_owned()]).expect("valid host");
    c
}

pub(crate) fn name(s: &str) -> CrateName {
    CrateName::new(s).expect("valid crate name")
}

/// Serves `router` on 127.0.0.1 (any port) in the background; returns `http://127.0.0.1:PORT/`.
pub(crate) async fn serve(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/")
}

/// A server that reads each request head and then hands the connection to `respond` with the
/// connection's number (0, 1, …) and the head. Returns the base URL and a connection counter.
pub(crate) async fn raw_server<F, Fut>(respond: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(usize, String, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("local address");
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let respond = respond.clone();
            tokio::spawn(async move {
                let head = read_head(&mut stream).await;
                respond(n, head, stream).await;
            });
        }
    });
    (format!("http://{addr}/"), connections)
}

/// Reads up to the blank line that ends a request head (requests here have no body).
pub(crate) async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The value of header `name` in a request head, if present.
pub(crate) fn header_of(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
    })
}

/// Writes `bytes` and keeps going on errors: the client may already have given up.
pub(crate) async fn write(stream: &mut TcpStream, bytes: &[u8]) {
    let _ = stream.write_all(bytes).await;
    let _ = stream.flush().await;
}

/// Runs the test `test` of this test binary in a child process with `remove` unset, then `env`
/// set, and fails unless it ran and passed. Environment variables are process-wide and some
/// are read when a client is built, so tests that need them get a process of their own.
pub(crate) async fn run_child_test(test: &str, env: &[(&str, &str)], remove: &[&str]) {
    let exe = std::env::current_exe().expect("test binary path");
    let mut command = Command::new(exe);
    command.args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"]);
    for key in remove {
        command.env_remove(key);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    // Blocking in the pool, so the runtime keeps serving the child's requests meanwhile.
    let output = tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child test {test} with {env:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
