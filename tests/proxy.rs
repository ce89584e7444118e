//! The verifying proxy (`tufmirror_proxy::app`) as cargo sees it, over HTTP on loopback: in
//! process in front of `tufmirror serve-static` (answers rewritten by tests/common/tamper.rs to
//! make them hostile), and the `tufmirror proxy` binary for start-up and SIGTERM. Real cargo
//! through the proxy is tests/proxy_cargo.rs.

mod common;

use common::tamper::Tamper;
use common::{HttpResponse, Published, Server, fixture_index, http_get, publish_ok};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tufmirror_client::{MirrorClient, MirrorConfig};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// The proxy app on a loopback port of `rt`, serving until dropped.
struct InProcessProxy {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl InProcessProxy {
    fn start(rt: &tokio::runtime::Runtime, client: Arc<MirrorClient>) -> InProcessProxy {
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(tufmirror_server::serve(listener, tufmirror_proxy::app(client), async move {
            let _ = stopped.await;
        }));
        InProcessProxy { addr, _stop: stop }
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        http_get(self.addr, path, headers)
    }
}

fn client(url: &str, out: &Path, state: &Path, tamper: &Arc<Tamper>) -> Arc<MirrorClient> {
    common::tamper::tampered_client(url, out, state, tamper, MirrorConfig::default())
}

fn body(response: &HttpResponse) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

/// A refusal as cargo prints it: the given status and one line naming the path and the reason.
fn assert_refused(response: &HttpResponse, status: u16, path: &str, reason: &str) {
    let text = body(response);
    assert_eq!(response.status, status, "{text}");
    assert!(text.starts_with(&format!("tufmirror proxy: {path}: ")), "{text}");
    assert!(text.contains(reason), "{reason:?} not in {text:?}");
    assert_eq!(text.lines().count(), 1, "one line: {text:?}");
}

#[test]
fn cargo_gets_only_verified_answers() {
    let rt = runtime();
    let repo = Published::fixture_copy();
    let server = Server::start(&repo.out);
    let state = tempfile::tempdir().expect("state");
    let tamper = Tamper::new();
    let proxy =
        InProcessProxy::start(&rt, client(&format!("http://{}", server.addr), &repo.out, state.path(), &tamper));
    let syn = std::fs::read(fixture_index().join("3/s/syn")).expect("fixture");

    let config = proxy.get("/index/config.json", &[]);
    assert_eq!((config.status, config.body), (200, std::fs::read(repo.out.join("index/config.json")).expect("config")));
    let file = proxy.get("/index/3/s/syn", &[]);
    assert_eq!((file.status, &file.body), (200, &syn));
    let etag = file.headers.get("etag").expect("etag").clone();
    assert_eq!(etag, format!("\"{}\"", tufmirror_core::Sha256Hash::of(&syn)));

    // If-None-Match goes to the mirror; its 304 is checked against the ETag and passed on.
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let seen = statuses.clone();
    tamper.set(move |url, a| {
        if url.ends_with("/index/3/s/syn") {
            seen.lock().expect("statuses").push(a.status);
        }
    });
    let revalidated = proxy.get("/index/3/s/syn", &[("If-None-Match", &etag)]);
    assert_eq!((revalidated.status, revalidated.headers.get("etag")), (304, Some(&etag)));
    assert!(revalidated.body.is_empty());
    assert_eq!(*statuses.lock().expect("statuses"), [304], "the mirror answered 304 to the forwarded ETag");
    tamper.clear();

    assert_eq!(proxy.get("/index/no/ne/none-such", &[]).status, 404, "proven absent");
    let not_a_path = proxy.get("/index/3/s/SYN", &[]);
    assert_eq!(not_a_path.status, 404, "{}", body(&not_a_path));
    let health = proxy.get("/healthz", &[]);
    assert_eq!(health.status, 200);
    assert!(body(&health).contains("snapshot 1"), "{}", body(&health));

    let tampered = |rule: fn(&mut tufmirror_client::HttpAnswer)| {
        tamper.set(move |url, a| {
            if url.ends_with("/index/3/s/syn") {
                rule(a)
            }
        });
        let response = proxy.get("/index/3/s/syn", &[]);
        tamper.clear();
        response
    };
    let response = tampered(|a| a.body[0] ^= 1);
    assert_refused(&response, 403, "3/s/syn", "the file does not match its leaf");
    let response = tampered(|a| (a.status, a.proof, a.body) = (404, None, Vec::new()));
    assert_refused(&response, 403, "3/s/syn", "(a hidden file)");
    let response = tampered(|a| (a.status, a.body) = (304, Vec::new()));
    assert_refused(&response, 403, "3/s/syn", "without If-None-Match");
    let response = tampered(|a| a.status = 503);
    assert_refused(&response, 502, "3/s/syn", "HTTP 503");
    assert_eq!(proxy.get("/index/3/s/syn", &[]).body, syn, "honest again");
}

#[test]
fn an_unreachable_mirror_is_a_bad_gateway() {
    let rt = runtime();
    let repo = Published::fixture_copy();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port");
    let state = tempfile::tempdir().expect("state");
    let tamper = Tamper::new();
    let proxy = InProcessProxy::start(&rt, client(&format!("http://{closed}"), &repo.out, state.path(), &tamper));
    assert_refused(&proxy.get("/index/3/s/syn", &[]), 502, "3/s/syn", "cannot refresh");
    assert_refused(&proxy.get("/index/config.json", &[]), 502, "config.json", "cannot refresh");
    assert!(body(&proxy.get("/healthz", &[])).contains("no snapshot"));
}

#[test]
fn hundreds_of_concurrent_requests_share_one_refresh() {
    let rt = runtime();
    let repo = Published::fixture_copy();
    let server = Server::start(&repo.out);
    let state = tempfile::tempdir().expect("state");
    let tamper = Tamper::new();
    let proxy =
        InProcessProxy::start(&rt, client(&format!("http://{}", server.addr), &repo.out, state.path(), &tamper));
    assert_eq!(proxy.get("/index/3/s/syn", &[]).status, 200);

    std::fs::remove_file(repo.index.join("3/l/log")).expect("remove");
    publish_ok(&repo.index, &repo.keys, &repo.out);
    let paths =
        ["/index/3/s/syn", "/index/li/bc/libc", "/index/ri/ng/ring", "/index/3/l/log", "/index/no/ne/none-such"];
    let threads: Vec<_> = (0..200)
        .map(|i| {
            let (addr, path) = (proxy.addr, paths[i % paths.len()]);
            std::thread::spawn(move || (path, http_get(addr, path, &[]).status))
        })
        .collect();
    for thread in threads {
        let (path, status) = thread.join().expect("request");
        let expected = if path.ends_with("log") || path.ends_with("none-such") { 404 } else { 200 };
        assert_eq!(status, expected, "{path}");
    }
    assert_eq!(tamper.hits("tuf/timestamp.json"), 2, "the first refresh and one for snapshot 2");
}

#[test]
fn the_proxy_binary_listens_verifies_and_stops_on_sigterm() {
    let repo = Published::fixture_copy();
    let server = Server::start(&repo.out);
    let state = repo.tmp.path().join("proxy-state");
    let root = repo.out.join("tuf/1.root.json");
    let mirror = format!("http://{}", server.addr);
    let args = ["proxy", "--mirror", &mirror, "--root", root.to_str().expect("utf-8"), "--listen", "127.0.0.1:0"];
    let mut child = common::daemon::tufmirror_command(repo.tmp.path(), &args)
        .args(["--state", state.to_str().expect("utf-8")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn tufmirror proxy");
    let line = common::first_line(&mut child, "tufmirror proxy");
    let addr: SocketAddr = line.trim().strip_prefix("listening on ").and_then(|a| a.parse().ok()).expect("address");

    let response = http_get(addr, "/index/3/s/syn", &[]);
    assert_eq!(response.status, 200, "{}", body(&response));
    assert!(state.join("timestamp.json").is_file(), "the trusted metadata is kept in --state");

    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}
