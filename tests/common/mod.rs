//! Shared helpers for the end-to-end tests: run the real binary, talk plain HTTP/1.1 on loopback,
//! and fingerprint directories to prove that a failed command wrote nothing.
#![allow(dead_code)]

pub(crate) mod audit;
pub(crate) mod cargo;
pub(crate) mod ceremony;
pub(crate) mod daemon;
pub(crate) mod hostile;
pub(crate) mod python;
pub(crate) mod refresh;
pub(crate) mod tamper;
pub(crate) mod verify_http;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use tufmirror_core::merkle::InclusionProof;
use tufmirror_core::metadata::{Role, Root, Snapshot, Targets, Timestamp};
use tufmirror_core::verify::{RoleVerifier, parse_verified};

pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tufmirror")
}

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn fixture_index() -> PathBuf {
    repo_root().join("tests/fixtures/crates-io-sample/index")
}

/// Runs `tufmirror ARGS`.
pub(crate) fn tufmirror(args: &[&str]) -> Output {
    output(Command::new(bin()).args(args).env("RUST_LOG", "warn"))
}

/// `command.output()` (stdin empty), but a command that has not exited after [`CHILD_DEADLINE`]
/// is killed and fails the test instead of hanging it.
pub(crate) fn output(command: &mut Command) -> Output {
    let what = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let status = wait_with_deadline(&mut child, &what);
    Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

/// Runs `tufmirror ARGS` and fails the test unless it succeeds.
pub(crate) fn tufmirror_ok(args: &[&str]) -> String {
    let out = tufmirror(args);
    assert!(out.status.success(), "tufmirror {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Generates development keys into `dir/keys`.
pub(crate) fn generate_keys(dir: &Path) -> PathBuf {
    let keys = dir.join("keys");
    tufmirror_ok(&["keys", "generate", "--out", keys.to_str().expect("utf-8")]);
    keys
}

pub(crate) fn publish(index: &Path, keys: &Path, out: &Path) -> Output {
    tufmirror(&[
        "publish",
        "--index",
        index.to_str().expect("utf-8"),
        "--keys",
        keys.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ])
}

pub(crate) fn publish_ok(index: &Path, keys: &Path, out: &Path) -> String {
    let out = publish(index, keys, out);
    assert!(out.status.success(), "publish failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A scratch directory with development keys, a writable copy of the fixture index, and an
/// output repository published once from it.
pub(crate) struct Published {
    pub tmp: tempfile::TempDir,
    pub keys: PathBuf,
    pub index: PathBuf,
    pub out: PathBuf,
}

impl Published {
    pub(crate) fn fixture_copy() -> Published {
        let tmp = tempfile::tempdir().expect("tempdir");
        let keys = generate_keys(tmp.path());
        let index = tmp.path().join("index");
        copy_dir(&fixture_index(), &index);
        let out = tmp.path().join("out");
        publish_ok(&index, &keys, &out);
        Published { tmp, keys, index, out }
    }
}

/// Copies a directory tree (regular files and folders).
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

/// Every entry below `dir`: file contents, link targets and folders, to compare before/after.
pub(crate) fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let entry = entry.expect("entry");
            let path = entry.path();
            let rel = path.strip_prefix(root).expect("prefix").to_owned();
            let kind = entry.file_type().expect("type");
            if kind.is_symlink() {
                out.insert(rel, std::fs::read_link(&path).expect("link").into_os_string().into_encoded_bytes());
            } else if kind.is_dir() {
                out.insert(rel, b"<dir>".to_vec());
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).expect("read"));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// How long a test waits for a child it started to print its first line or to exit after a
/// signal: generous (a loaded two-core machine builds while it tests), and a failure, not a hang.
pub(crate) const CHILD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// The first line `child` prints on stdout (its `listening on ADDR`), read in a thread so that a
/// child that never prints it fails the test after [`CHILD_DEADLINE`] instead of hanging it; the
/// child is killed then. Takes the child's stdout (the rest of it is drained and dropped).
pub(crate) fn first_line(child: &mut Child, what: &str) -> String {
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("{what}: stdout is not piped"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
        // Keep reading so that a chatty child never blocks on a full pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    match rx.recv_timeout(CHILD_DEADLINE) {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => panic!("{what}: cannot read its first line: {e}"),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} printed no first line within {CHILD_DEADLINE:?}; killed");
        }
    }
}

/// Waits for `child` to exit, at most [`CHILD_DEADLINE`]; kills it and fails the test after that.
pub(crate) fn wait_with_deadline(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if started.elapsed() > CHILD_DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not exit within {CHILD_DEADLINE:?}; killed");
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => panic!("{what}: cannot wait for it: {e}"),
        }
    }
}

/// Polls `done` every 20 ms until it holds; fails the test naming `what` if it does not within
/// [`CHILD_DEADLINE`]. Returns how long it took.
pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) -> std::time::Duration {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < CHILD_DEADLINE, "{what}: not within {CHILD_DEADLINE:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    started.elapsed()
}

/// A `tufmirror serve-static` process on an ephemeral loopback port; killed on drop.
pub(crate) struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    pub(crate) fn start(dir: &Path) -> Server {
        let mut child = Command::new(bin())
            .args(["serve-static", "--dir", dir.to_str().expect("utf-8"), "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn server");
        let line = first_line(&mut child, "tufmirror serve-static");
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response from [`http_get`].
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// A minimal HTTP/1.1 GET (no TLS, `Connection: close`): enough for loopback tests without
/// pulling an HTTP client into the dev-dependencies.
pub(crate) fn http_get(addr: SocketAddr, path: &str, extra: &[(&str, &str)]) -> HttpResponse {
    http_request(addr, "GET", path, extra)
}

/// [`http_get`] with another method (and no body: `Content-Length: 0` for a `POST`).
pub(crate) fn http_request(addr: SocketAddr, method: &str, path: &str, extra: &[(&str, &str)]) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in extra {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    if method != "GET" && method != "HEAD" {
        request.push_str("Content-Length: 0\r\n");
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("receive");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.get("transfer-encoding").is_some_and(|v| v == "chunked") {
        body = dechunk(&body);
    }
    HttpResponse { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n").expect("chunk size");
        let size = usize::from_str_radix(std::str::from_utf8(&data[..end]).expect("utf-8").trim(), 16).expect("hex");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 2 + size + 2..];
    }
}

/// Verifies OUT the way a TAP-16 client would: root, timestamp, snapshot and targets signatures,
/// then every index file against its proof and the signed Merkle root. Returns (snapshot version,
/// number of files checked).
pub(crate) fn verify_repository(out: &Path) -> (u64, usize) {
    let (version, files) = verify_repository_files(out);
    (version, files.len())
}

/// [`verify_repository`], returning every verified index file by its index path (`3/s/syn`).
pub(crate) fn verify_repository_files(out: &Path) -> (u64, BTreeMap<String, Vec<u8>>) {
    let root_bytes = std::fs::read(out.join("tuf/root.json")).expect("root.json");
    let (root, _) = tufmirror_core::verify::parse_unverified::<Root>(&root_bytes).expect("root parses");
    let verifier = |role| RoleVerifier::from_root(&root.signed, role).expect("role");
    let timestamp: tufmirror_core::metadata::Signed<Timestamp> =
        parse_verified(&std::fs::read(out.join("tuf/timestamp.json")).expect("timestamp"), &verifier(Role::Timestamp))
            .expect("timestamp verifies");
    let n = timestamp.signed.snapshot_version().expect("snapshot version");
    let snapshot_bytes = std::fs::read(out.join(format!("tuf/{n}.snapshot.json"))).expect("snapshot");
    assert!(
        timestamp.signed.meta["snapshot.json"].hashes.as_ref().expect("hashes")["sha256"]
            == tufmirror_core::Sha256Hash::of(&snapshot_bytes).to_hex()
    );
    let snapshot = parse_verified::<Snapshot>(&snapshot_bytes, &verifier(Role::Snapshot)).expect("snapshot verifies");
    let t = snapshot.signed.targets_version().expect("targets version");
    let targets = parse_verified::<Targets>(
        &std::fs::read(out.join(format!("tuf/{t}.targets.json"))).expect("targets"),
        &verifier(Role::Targets),
    )
    .expect("targets verifies");
    let config = std::fs::read(out.join("index/config.json")).expect("config.json");
    assert!(targets.signed.targets["config.json"].matches(&config), "config.json matches targets");

    let root_hash = timestamp.signed.merkle_root.expect("merkle_root");
    let size = timestamp.signed.merkle_tree_size.expect("tree size");
    let snap_dir = out.join(format!("snapshots/{n}"));
    let mut checked = BTreeMap::new();
    for file in walk_files(&snap_dir.join("index")) {
        let rel = file.strip_prefix(snap_dir.join("index")).expect("prefix").to_str().expect("utf-8").to_owned();
        if rel.ends_with("config.json") {
            continue;
        }
        let proof: InclusionProof =
            serde_json::from_slice(&std::fs::read(snap_dir.join("proofs").join(&rel)).expect("proof"))
                .expect("proof parses");
        let bytes = std::fs::read(&file).expect("file");
        proof.verify_file(&rel, &bytes, &root_hash, size, n).unwrap_or_else(|e| panic!("{rel}: {e}"));
        checked.insert(rel, bytes);
    }
    assert_eq!(checked.len() as u64, size, "every leaf has a file and a proof");
    (n, checked)
}

pub(crate) fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() { out.extend(walk_files(&path)) } else { out.push(path) }
    }
    out
}
