//! A fake upstream sparse index on loopback, with fault injection.
//!
//! It stands in for index.crates.io and static.crates.io in tests of the mirror: it serves index
//! files as `text/plain`, `config.json`, and `.crate` downloads, and it can be told to fail any one
//! path in the ways a real network fails: an error status, a `Retry-After`, a body cut short, no
//! answer at all.
//!
//! Validators come in two kinds of upstream, and the mirror must handle both. By default it sends
//! **no `ETag` and no `Last-Modified`**: what the upstream these machines see does, so the mirror
//! tells a change by the content hash. [`FakeUpstream::set_etags`] makes it answer as
//! index.crates.io does: a strong `ETag` on every `200`, and `304 Not Modified` (no body) to an
//! `If-None-Match` that names the current one, so the mirror's conditional fetch runs end to end.
//! [`FakeUpstream::requests`] is the log of what was asked and answered, to prove it did.
//!
//! It is a raw HTTP/1.1 responder on a tokio `TcpListener` rather than an axum app because a
//! truncated body must be exactly that on the wire (a `Content-Length` larger than what is sent,
//! then the connection closes), and that is simplest and most certain when we write the bytes
//! ourselves. It reads one `GET` (or `HEAD`) per connection and closes after the answer.

use crate::registry::{CrateFile, index_path};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tufmirror_core::Sha256Hash;

/// How the fake answers a path instead of serving it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a short plain-text body.
    Status(u16),
    /// Declare the full `Content-Length` but send only the first `n` bytes, then close the
    /// connection: the client sees an incomplete body. (`n` at or above the length sends it all.)
    Truncate(usize),
    /// Accept the request and never answer, keeping the connection open: for client timeouts.
    Hang,
    /// Answer with this status and `Retry-After: <seconds>`.
    RetryAfter(u16, u64),
}

#[derive(Debug, Default)]
struct State {
    /// Index files (and an optional `config.json` override) by path, without a leading `/`.
    files: HashMap<String, Vec<u8>>,
    /// `.crate` bytes by (name, version).
    crates: HashMap<(String, String), Vec<u8>>,
    faults: HashMap<String, Fault>,
    hits: HashMap<String, usize>,
    total_hits: usize,
    /// Added before every answer: a slow upstream.
    delay: Duration,
    /// Send `ETag`s and answer a matching `If-None-Match` with `304`.
    etags: bool,
    requests: Vec<Request>,
}

/// One request as the fake received and answered it (see [`FakeUpstream::requests`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Without the leading `/` and the query.
    pub path: String,
    /// The `If-None-Match` header, exactly as sent.
    pub if_none_match: Option<String>,
    /// The status answered (`None`: not answered, a [`Fault::Hang`]).
    pub status: Option<u16>,
    /// The `ETag` sent with the answer.
    pub etag: Option<String>,
}

/// A fake upstream index serving on `127.0.0.1`. Dropping it stops the server and closes every
/// open connection (hung ones included).
#[derive(Debug)]
pub struct FakeUpstream {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Paths are compared without a leading `/`, so `"/3/s/syn"` and `"3/s/syn"` are the same path.
fn key(path: &str) -> String {
    path.trim_start_matches('/').to_owned()
}

impl FakeUpstream {
    /// Binds `127.0.0.1:0` and serves in a spawned task (so it needs a tokio runtime).
    pub async fn start() -> std::io::Result<FakeUpstream> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let server = tokio::spawn(serve(listener, addr, state.clone()));
        Ok(FakeUpstream { state, addr, server })
    }

    /// The index URL, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A poisoned lock only means a test panicked mid-update; the maps are still usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Serves `bytes` at `path` (an index path such as `3/s/syn`; `config.json` replaces the
    /// default config).
    pub fn set_file(&self, path: &str, bytes: Vec<u8>) {
        self.lock().files.insert(key(path), bytes);
    }

    pub fn remove_file(&self, path: &str) {
        self.lock().files.remove(&key(path));
    }

    /// Serves every file under `dir`, its path relative to `dir` as index path; returns how many.
    /// A top-level `config.json` and dot-entries (`.git`, ...) are skipped: they are no index files.
    pub fn load_index_dir(&self, dir: &Path) -> std::io::Result<usize> {
        let mut files = Vec::new();
        walk(dir, "", &mut files)?;
        let count = files.len();
        self.lock().files.extend(files);
        Ok(count)
    }

    /// Appends `krate`'s index line (and `\n`) to its index file, creating it, and serves its
    /// `.crate` at `crates/NAME/VERS/download`.
    pub fn publish(&self, krate: &CrateFile, yanked: bool) {
        let mut line = krate.index_line(yanked).into_bytes();
        line.push(b'\n');
        let mut state = self.lock();
        state.files.entry(index_path(&krate.name)).or_default().extend_from_slice(&line);
        state.crates.insert((krate.name.clone(), krate.vers.clone()), krate.bytes.clone());
    }

    /// Replaces (or adds) the `.crate` served for `name` `vers`, leaving the index alone: to serve
    /// an archive whose checksum no longer matches.
    pub fn set_crate_bytes(&self, name: &str, vers: &str, bytes: Vec<u8>) {
        self.lock().crates.insert((name.to_owned(), vers.to_owned()), bytes);
    }

    /// Makes `path` (an index path, `crates/NAME/VERS/download` or `config.json`) fail with `fault`
    /// until [`clear_fault`](Self::clear_fault).
    pub fn set_fault(&self, path: &str, fault: Fault) {
        self.lock().faults.insert(key(path), fault);
    }

    pub fn clear_fault(&self, path: &str) {
        self.lock().faults.remove(&key(path));
    }

    /// Waits `delay` before answering each request (counted as a hit when it arrives): a slow
    /// upstream. Requests are served concurrently, so this adds latency, not a throughput limit.
    pub fn set_delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    /// With `true`, answers as index.crates.io does: every `200` carries a strong `ETag` (the
    /// SHA-256 of the body, quoted), and a request whose `If-None-Match` names the current `ETag`
    /// (or is `*`) gets `304 Not Modified` with no body. With `false` (the default) no validators
    /// are sent and `If-None-Match` is ignored.
    pub fn set_etags(&self, on: bool) {
        self.lock().etags = on;
    }

    /// The `ETag` the fake sends for `bytes` when [`set_etags`](Self::set_etags) is on.
    pub fn etag_of(bytes: &[u8]) -> String {
        tufmirror_core::wire::etag_of(&Sha256Hash::of(bytes))
    }

    /// Every request received so far, in order of answer (answered ones) and arrival (hung ones
    /// are listed with no status when they arrive).
    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    /// Requests received for `path` so far, answered or not.
    pub fn hits(&self, path: &str) -> usize {
        self.lock().hits.get(&key(path)).copied().unwrap_or(0)
    }

    /// Requests received for any path so far.
    pub fn total_hits(&self) -> usize {
        self.lock().total_hits
    }
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || (prefix.is_empty() && name == "config.json") {
            continue;
        }
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), &rel, out)?;
        } else {
            out.push((rel, std::fs::read(entry.path())?));
        }
    }
    Ok(())
}

/// Accepts connections until aborted; the connection tasks live in a `JoinSet` so that aborting
/// this task drops (and so aborts) them too.
async fn serve(listener: TcpListener, addr: SocketAddr, state: Arc<Mutex<State>>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, _)) => {
                connections.spawn(handle(stream, addr, state.clone()));
            }
            // Out of file descriptors and the like: wait rather than spin.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// What to do with one request.
enum Answer {
    Reply {
        status: u16,
        content_type: &'static str,
        retry_after: Option<u64>,
        body: Vec<u8>,
        /// `Some(n)`: send only the first `n` bytes of `body`.
        truncate: Option<usize>,
        etag: Option<String>,
    },
    Hang,
}

impl Answer {
    fn plain(status: u16, body: &str) -> Self {
        Answer::text(status, "text/plain", body.as_bytes().to_vec())
    }

    fn text(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Answer::Reply { status, content_type, retry_after: None, body, truncate: None, etag: None }
    }
}

async fn handle(mut stream: TcpStream, addr: SocketAddr, state: Arc<Mutex<State>>) {
    let Some(head) = read_head(&mut stream).await else { return };
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or("").split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("").trim_start_matches('/');
    let if_none_match = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("if-none-match"))
        .map(|(_, value)| value.trim().to_owned());
    let delay = count(&mut state.lock().unwrap_or_else(PoisonError::into_inner), path);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let answer = {
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        let answer = if method != "GET" && method != "HEAD" {
            Answer::plain(405, "method not allowed\n")
        } else {
            let answer = answer(&mut state, addr, path);
            if state.etags { with_validators(answer, if_none_match.as_deref()) } else { answer }
        };
        let (status, etag) = match &answer {
            Answer::Reply { status, etag, .. } => (Some(*status), etag.clone()),
            Answer::Hang => (None, None),
        };
        let request = Request { method: method.to_owned(), path: path.to_owned(), if_none_match, status, etag };
        state.requests.push(request);
        answer
    };
    let Answer::Reply { status, content_type, retry_after, body, truncate, etag } = answer else {
        // Hang: hold the connection open until the server is dropped.
        return std::future::pending().await;
    };
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reason(status),
        body.len()
    );
    if let Some(seconds) = retry_after {
        out.push_str(&format!("Retry-After: {seconds}\r\n"));
    }
    if let Some(etag) = etag {
        out.push_str(&format!("ETag: {etag}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    if method == "GET" {
        out.extend_from_slice(&body[..truncate.unwrap_or(body.len()).min(body.len())]);
    }
    // The client may have gone away; nothing to do about it here.
    let _ = stream.write_all(&out).await;
    let _ = stream.shutdown().await;
}

/// A `200` gets its strong `ETag`; when `if_none_match` names it (or is `*`; a list is split at
/// commas, as RFC 9110 allows), the answer is `304` with the `ETag` and no body instead.
fn with_validators(answer: Answer, if_none_match: Option<&str>) -> Answer {
    match answer {
        Answer::Reply { status: 200, content_type, retry_after, body, truncate, .. } => {
            let etag = FakeUpstream::etag_of(&body);
            let matches = if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
            if matches {
                Answer::Reply {
                    status: 304,
                    content_type,
                    retry_after,
                    body: Vec::new(),
                    truncate: None,
                    etag: Some(etag),
                }
            } else {
                Answer::Reply { status: 200, content_type, retry_after, body, truncate, etag: Some(etag) }
            }
        }
        other => other,
    }
}

/// The head of one request (request line and header lines, `\r\n`-separated), after reading it
/// whole (`None`: closed or garbage).
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > 16 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    String::from_utf8(buf[..end].to_vec()).ok()
}

/// Counts a request as it arrives; returns the delay to wait before answering it.
fn count(state: &mut State, path: &str) -> Duration {
    state.total_hits += 1;
    *state.hits.entry(path.to_owned()).or_default() += 1;
    state.delay
}

/// Applies the path's fault or serves it.
fn answer(state: &mut State, addr: SocketAddr, path: &str) -> Answer {
    match state.faults.get(path).cloned() {
        Some(Fault::Hang) => Answer::Hang,
        Some(Fault::Status(status)) => Answer::plain(status, &format!("injected fault: status {status}\n")),
        Some(Fault::RetryAfter(status, seconds)) => Answer::Reply {
            status,
            content_type: "text/plain",
            retry_after: Some(seconds),
            body: format!("injected fault: retry after {seconds}s\n").into_bytes(),
            truncate: None,
            etag: None,
        },
        Some(Fault::Truncate(n)) => match serve_path(state, addr, path) {
            Answer::Reply { status, content_type, retry_after, body, etag, .. } => {
                Answer::Reply { status, content_type, retry_after, body, truncate: Some(n), etag }
            }
            Answer::Hang => Answer::Hang,
        },
        None => serve_path(state, addr, path),
    }
}

fn serve_path(state: &State, addr: SocketAddr, path: &str) -> Answer {
    if path == "config.json" {
        let body = state.files.get(path).cloned().unwrap_or_else(|| {
            format!("{{\"dl\": \"http://{addr}/crates\", \"api\": \"http://{addr}\"}}").into_bytes()
        });
        return Answer::text(200, "application/json", body);
    }
    let segments: Vec<&str> = path.split('/').collect();
    if let ["crates", name, vers, "download"] = segments[..] {
        return match state.crates.get(&(name.to_owned(), vers.to_owned())) {
            Some(bytes) => Answer::text(200, "application/gzip", bytes.clone()),
            None => Answer::plain(404, "no such crate version\n"),
        };
    }
    match state.files.get(path) {
        Some(bytes) => Answer::text(200, "text/plain", bytes.clone()),
        None => Answer::plain(404, "not found\n"),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Fault",
    }
}
