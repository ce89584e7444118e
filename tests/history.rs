//! Rewritten history through the daemon (docs/POUF.md 1.8): upstream rewrites a published
//! version's dependencies with the same cksum, adds a version equal in precedence to a published
//! one, adds a dependency from another registry; each file is quarantined, never signed, and the
//! last good file stays served, and real cargo resolves against the signed file. Then a file that only yanks, adds `pubtime`, spells the JSON
//! differently and adds a version depending on an allow-listed registry is accepted.

mod common;

use common::cargo::run_cargo;
use common::daemon::{Daemon, DaemonConfig, tufmirror_command};
use common::verify_http::{get_ok, verify_daemon};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use tufmirror_core::Sha256Hash;
use tufmirror_core::diff::SnapshotDiff;
use tufmirror_testkit::registry::{CrateFile, Dep, index_path, make_crate};
use tufmirror_testkit::upstream::FakeUpstream;

const ALLOWED: &str = "https://allowed.example/index/";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// `krate`'s index line as JSON, for a test to edit.
fn json_line(krate: &CrateFile) -> Value {
    serde_json::from_str(&krate.index_line(false)).expect("testkit writes JSON")
}

/// A file of `lines`, written compactly (upstream's own files have spaces).
fn file(lines: &[Value]) -> Vec<u8> {
    lines.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes()
}

/// The quarantine as `tufmirror quarantine list` prints it, from the running daemon.
fn quarantine_list(dir: &Path) -> Vec<Value> {
    let config = dir.join("tufmirror.toml");
    let out = tufmirror_command(dir, &["quarantine", "--config", config.to_str().expect("utf-8"), "list"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run tufmirror quarantine list");
    assert!(out.status.success(), "quarantine list failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).expect("the list is JSON");
    list.as_array().expect("a list").clone()
}

/// Every file hash any snapshot up to `n` ever published.
fn hashes_ever_published(addr: SocketAddr, n: u64) -> BTreeSet<Sha256Hash> {
    let mut out = BTreeSet::new();
    for k in 1..=n {
        let diff: SnapshotDiff =
            serde_json::from_slice(&get_ok(addr, &format!("/history/{k}.diff.json"))).expect("diff parses");
        out.extend(diff.added.into_iter().chain(diff.changed).map(|leaf| leaf.sha256));
    }
    out
}

/// Runs real cargo's `generate-lockfile` in a project under `root` that depends on `dependencies`
/// (lines of `[dependencies]`) with crates.io replaced by `daemon`, and returns the `Cargo.lock`.
fn generate_lockfile(root: &Path, daemon: &Daemon, dependencies: &str) -> String {
    let project = root.join("project");
    std::fs::create_dir_all(project.join("src")).expect("project");
    std::fs::create_dir_all(project.join(".cargo")).expect(".cargo");
    std::fs::write(
        project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{dependencies}\n"
        ),
    )
    .expect("Cargo.toml");
    std::fs::write(project.join("src/lib.rs"), "").expect("lib.rs");
    std::fs::write(
        project.join(".cargo/config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"mirror\"\n\n[source.mirror]\nregistry = \"sparse+{}/index/\"\n",
            daemon.url()
        ),
    )
    .expect("config.toml");
    let out = run_cargo(&project, &root.join("cargo-home"), &root.join("target"), &["generate-lockfile"], &[]);
    assert!(out.status.success(), "cargo generate-lockfile failed:\n{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(project.join("Cargo.lock")).expect("Cargo.lock")
}

#[test]
fn rewritten_history_is_quarantined_and_never_signed() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let leaf = make_crate("leaf", "1.0.0", &[], "pub fn one() -> u32 { 1 }");
    let app = make_crate("app-lib", "1.0.0", &[Dep::new("leaf", "^1")], "pub fn two() -> u32 { leaf::one() + 1 }");
    upstream.publish(&leaf, false);
    upstream.publish(&app, false);
    let path = index_path("app-lib");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = DaemonConfig::new(&upstream.url());
    config.mirror_extra = format!("revalidate_after = \"0s\"\nallowed_registries = [\"{ALLOWED}\"]");
    let daemon = Daemon::start(dir.path(), &config);
    let index = || daemon.get(&format!("/index/{path}"));
    let good = index().body;
    assert_eq!(good, format!("{}\n", app.index_line(false)).into_bytes());
    assert!(quarantine_list(dir.path()).is_empty());
    let signed = verify_daemon(daemon.addr);
    assert_eq!(signed.files[&path], good);

    let v1 = json_line(&app);
    let mut quarantined = Vec::new();
    // Each rewrite: held back, named in the quarantine with the version and the reason.
    let mut rewrite = |bytes: Vec<u8>, expected: &[&str]| {
        upstream.set_file(&path, bytes.clone());
        assert_eq!(index().body, good, "the last good file stays served");
        let list = quarantine_list(dir.path());
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["path"], path.as_str());
        assert_eq!(list[0]["sha256"], Sha256Hash::of(&bytes).to_hex(), "{list:?}");
        let reason = list[0]["reason"].as_str().expect("reason");
        for needle in expected {
            assert!(reason.contains(needle), "{needle:?} not in the reason {reason:?}");
        }
        quarantined.push(Sha256Hash::of(&bytes));
    };

    // 1.0.0's dependency rewritten, cksum unchanged.
    let mut deps_rewritten = v1.clone();
    deps_rewritten["deps"][0]["req"] = json!("^2");
    rewrite(file(&[deps_rewritten]), &["app-lib", "version 1.0.0 changed its \"deps\""]);
    // Real cargo resolves against what the mirror signed: `leaf ^1`, not the rewritten `^2`
    // (which no version of leaf satisfies, so cargo would fail).
    let lockfile = generate_lockfile(dir.path(), &daemon, "app-lib = \"1\"");
    assert!(lockfile.contains("name = \"leaf\"\nversion = \"1.0.0\""), "{lockfile}");
    // A dependency added to 1.0.0.
    let mut dep_added = v1.clone();
    dep_added["deps"].as_array_mut().expect("deps").push(json!({
        "name": "evil", "req": "*", "features": [], "optional": false, "default_features": true
    }));
    rewrite(file(&[dep_added]), &["app-lib", "version 1.0.0 changed its \"deps\""]);
    // 1.0.0+evil next to the published 1.0.0.
    let twin = json_line(&make_crate("app-lib", "1.0.0+evil", &[], "pub fn two() -> u32 { 3 }"));
    rewrite(file(&[v1.clone(), twin]), &["app-lib", "new version 1.0.0+evil is equal in precedence to version 1.0.0"]);
    // A new version with a dependency from a registry that is not allow-listed.
    let mut foreign =
        json_line(&make_crate("app-lib", "1.1.0", &[Dep::new("leaf", "^1")], "pub fn two() -> u32 { 2 }"));
    foreign["deps"][0]["registry"] = json!("https://evil.example/index/");
    rewrite(file(&[v1.clone(), foreign.clone()]), &["app-lib", "version 1.1.0", "https://evil.example/index/"]);

    // None of them was ever signed.
    let after = verify_daemon(daemon.addr);
    assert_eq!(after.files[&path], good);
    let ever = hashes_ever_published(daemon.addr, after.version);
    for sha in &quarantined {
        assert!(!ever.contains(sha), "a snapshot published the quarantined {sha:?}");
    }

    // What upstream may do: yank 1.0.0, give it a `pubtime`, spell the line differently, and add
    // 1.1.0 with a dependency from an allow-listed registry.
    let mut yanked = v1.clone();
    yanked["yanked"] = json!(true);
    yanked["pubtime"] = json!("2024-01-02T03:04:05Z");
    let mut allowed = foreign;
    allowed["deps"][0]["registry"] = json!(ALLOWED);
    let next = file(&[yanked, allowed]);
    upstream.set_file(&path, next.clone());
    assert_eq!(index().body, next, "a file that keeps history is accepted");
    assert!(quarantine_list(dir.path()).is_empty(), "and ends the quarantine");
    assert_eq!(verify_daemon(daemon.addr).files[&path], next);
}
