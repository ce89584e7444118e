//! Issue 12, the serving holes: `/audit/` and the other served trees never hand out a file from
//! outside them; an empty `admin.token` stops the daemon; version numbers in paths are canonical;
//! `.crate` downloads go only to download hosts; a 502 does not reveal what a download returned.

mod common;

use common::daemon::{Daemon, DaemonConfig};
use common::{HttpResponse, Published, Server, http_get};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;
use tufmirror_testkit::registry::make_crate;
use tufmirror_testkit::upstream::FakeUpstream;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

fn text(response: &HttpResponse) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

/// What the auditor's account could leave in `DATA/audit/` to reach the daemon's secrets.
fn plant_audit_links(audit: &Path) {
    std::fs::create_dir_all(audit).expect("audit dir");
    std::fs::write(audit.join("1.json"), b"{\"attestation\": 1}").expect("attestation");
    symlink("..", audit.join("up")).expect("link");
    symlink("../admin.token", audit.join("token.json")).expect("link");
    symlink("../keys/timestamp.pem", audit.join("key.json")).expect("link");
    symlink("1.json", audit.join("latest.json")).expect("link");
    mkfifo(&audit.join("pipe.json"));
}

#[test]
fn the_daemon_serves_only_regular_files_from_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(dir.path(), &DaemonConfig::new("http://127.0.0.1:9/"));
    let data = daemon.data();
    let token = std::fs::read_to_string(data.join("admin.token")).expect("token");
    let key = std::fs::read_to_string(data.join("keys/timestamp.pem")).expect("key");
    plant_audit_links(&data.join("audit"));

    let ok = daemon.get("/audit/1.json");
    assert_eq!((ok.status, text(&ok)), (200, "{\"attestation\": 1}".to_owned()));
    for path in [
        "/audit/up/admin.token",
        "/audit/token.json",
        "/audit/key.json",
        "/audit/up/keys/timestamp.pem",
        // A link that stays inside audit/ is refused too: regular files only.
        "/audit/latest.json",
        // Not a regular file (and opening it must not hang the request).
        "/audit/pipe.json",
        "/audit/up",
        "/audit/",
    ] {
        let response = daemon.get(path);
        assert_eq!(response.status, 404, "{path}: {}", text(&response));
        let body = text(&response);
        assert!(!body.contains(token.trim()) && !body.contains(key.trim()), "{path} leaked a secret");
    }
}

#[test]
fn serve_static_follows_only_links_that_stay_in_the_repository() {
    let repo = Published::fixture_copy();
    let secret = std::fs::read_to_string(repo.keys.join("timestamp.pem")).expect("key");
    let audit = repo.out.join("audit");
    std::fs::create_dir_all(&audit).expect("audit");
    std::fs::write(audit.join("1.json"), b"{}").expect("attestation");
    symlink("../..", audit.join("up")).expect("link");
    symlink("../../keys/timestamp.pem", audit.join("key.json")).expect("link");
    symlink("../tuf/1.root.json", audit.join("root.json")).expect("link");
    symlink("/etc/hostname", repo.out.join("tuf/host.json")).expect("link");
    symlink(repo.out.join("tuf/1.root.json"), repo.out.join("tuf/absolute.json")).expect("link");
    mkfifo(&repo.out.join("history/pipe.json"));
    let server = Server::start(&repo.out);

    // The repository's own links (current, index, tuf/timestamp.json) and one into it still work.
    for path in ["/tuf/timestamp.json", "/tuf/1.root.json", "/audit/1.json", "/audit/root.json", "/index/config.json"] {
        assert_eq!(http_get(server.addr, path, &[]).status, 200, "{path}");
    }
    assert_eq!(http_get(server.addr, "/snapshots/1/index/se/rd/serde", &[]).status, 200);
    for path in [
        "/audit/up/keys/timestamp.pem",
        "/audit/key.json",
        "/tuf/host.json",
        "/tuf/absolute.json",
        "/history/pipe.json",
        "/tuf/",
        "/snapshots/1",
    ] {
        let response = http_get(server.addr, path, &[]);
        assert_eq!(response.status, 404, "{path}: {}", text(&response));
        assert!(!text(&response).contains(secret.trim()), "{path} leaked the key");
    }
}

#[test]
fn an_empty_admin_token_stops_the_daemon_from_starting() {
    for blank in ["", " \n"] {
        let dir = tempfile::tempdir().expect("tempdir");
        DaemonConfig::new("http://127.0.0.1:9/").write(dir.path(), 0);
        std::fs::create_dir_all(dir.path().join("data")).expect("data");
        std::fs::write(dir.path().join("data/admin.token"), blank).expect("token");
        let mut command = common::daemon::tufmirror_command(dir.path(), &["serve", "--config", "tufmirror.toml"]);
        command.env("RUST_LOG", "warn");
        // Bounded: a daemon that starts anyway would serve forever.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            tufmirror_testkit::process::run(&mut command, Duration::from_secs(60))
        }))
        .unwrap_or_else(|_| panic!("the daemon started with the admin token {blank:?}"));
        assert_ne!(run.code, Some(0), "{}", run.describe());
        assert!(
            run.stderr.contains("admin.token") && run.stderr.contains("is empty"),
            "the error should name the file and the reason:\n{}",
            run.describe()
        );
        assert!(!run.stdout.contains("listening on"), "{}", run.describe());
    }
}

/// Each pair: a canonical path that answers 200, and non-canonical spellings of it (404).
const VERSIONED: &[(&str, &[&str])] = &[
    ("/tuf/1.root.json", &["/tuf/01.root.json", "/tuf/+1.root.json", "/tuf/001.root.json"]),
    ("/tuf/1.snapshot.json", &["/tuf/01.snapshot.json", "/tuf/+1.snapshot.json"]),
    ("/snapshots/1/leaves.json", &["/snapshots/01/leaves.json", "/snapshots/+1/leaves.json"]),
    ("/snapshots/1/index/config.json", &["/snapshots/01/index/config.json", "/snapshots/+1/index/config.json"]),
    ("/audit/1.json", &["/audit/01.json", "/audit/+1.json"]),
];

fn check_canonical_versions(addr: std::net::SocketAddr, history: &str) {
    let mut pairs: Vec<(&str, Vec<String>)> =
        VERSIONED.iter().map(|(ok, bad)| (*ok, bad.iter().map(|b| b.to_string()).collect())).collect();
    let history_bad: Vec<String> = vec![history.replacen("/1.", "/01.", 1), history.replacen("/1.", "/+1.", 1)];
    pairs.push((history, history_bad));
    for (ok, bad) in pairs {
        assert_eq!(http_get(addr, ok, &[]).status, 200, "{ok}");
        for path in bad {
            let response = http_get(addr, &path, &[]);
            assert_eq!(response.status, 404, "{path} must not be {ok}: {}", text(&response));
        }
    }
}

#[test]
fn version_numbers_in_paths_are_canonical_decimal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(dir.path(), &DaemonConfig::new("http://127.0.0.1:9/"));
    std::fs::create_dir_all(daemon.data().join("audit")).expect("audit");
    std::fs::write(daemon.data().join("audit/1.json"), b"{}").expect("attestation");
    check_canonical_versions(daemon.addr, "/history/1.timestamp.json");

    let repo = Published::fixture_copy();
    std::fs::create_dir_all(repo.out.join("audit")).expect("audit");
    std::fs::write(repo.out.join("audit/1.json"), b"{}").expect("attestation");
    let history = std::fs::read_dir(repo.out.join("history"))
        .expect("history")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|name| name.starts_with("1."))
        .expect("a history file of version 1");
    let server = Server::start(&repo.out);
    check_canonical_versions(server.addr, &format!("/history/{history}"));
}

#[test]
fn downloads_go_only_to_download_hosts() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let leaf = make_crate("leaf", "1.0.0", &[], "pub fn one() -> u32 { 1 }");
    upstream.publish(&leaf, false);
    // A hostile upstream points `dl` at a host the operator did not list (the test configuration
    // lists 127.0.0.1 only); `localhost` is the same machine under another name.
    let port = upstream.addr().port();
    upstream.set_file("config.json", format!("{{\"dl\": \"http://localhost:{port}/crates\"}}").into_bytes());
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(dir.path(), &DaemonConfig::new(&upstream.url()));
    assert_eq!(daemon.get("/index/le/af/leaf").status, 200, "signed");

    let download = daemon.get("/crates/leaf/1.0.0/download");
    assert_eq!(download.status, 502, "{}", text(&download));
    assert!(text(&download).contains("localhost is not a download host"), "{}", text(&download));
    assert_eq!(upstream.hits("crates/leaf/1.0.0/download"), 0, "nothing was fetched");
}

#[test]
fn a_mismatching_crate_is_refused_without_revealing_its_hash() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let honest = make_crate("leaf", "1.0.0", &[], "pub fn one() -> u32 { 1 }");
    let other = make_crate("leaf", "1.0.0", &[], "pub fn one() -> u32 { 2 }");
    upstream.publish(&honest, false);
    upstream.set_crate_bytes("leaf", "1.0.0", other.bytes.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(dir.path(), &DaemonConfig::new(&upstream.url()));
    assert_eq!(daemon.get("/index/le/af/leaf").status, 200, "signed");

    let download = daemon.get("/crates/leaf/1.0.0/download");
    let body = text(&download);
    assert_eq!(download.status, 502, "{body}");
    assert!(body.contains("does not match the signed cksum") && body.contains(&honest.cksum), "{body}");
    assert!(!body.contains(&other.cksum), "the 502 reveals the fetched bytes' sha256: {body}");
    assert!(upstream.hits("crates/leaf/1.0.0/download") >= 1, "it was fetched");
}
