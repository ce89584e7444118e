//! `tufmirror verify` against `tufmirror serve-static` and a plain static host on loopback: what
//! it prints when everything holds, how it names the file and the reason when something does not,
//! and the state folder that keeps a mirror from rolling back what an earlier run saw.

mod common;

use common::tamper::PlainHost;
use common::{Published, Server, publish_ok, tufmirror};
use std::path::Path;
use std::process::Output;

fn verify(mirror: &str, root: &Path, state: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify",
        "--mirror",
        mirror,
        "--root",
        root.to_str().expect("utf-8"),
        "--state",
        state.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    tufmirror(&args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn verify_checks_named_crates_and_every_file_of_the_snapshot() {
    let repo = Published::fixture_copy();
    let server = Server::start(&repo.out);
    let root = repo.out.join("tuf/1.root.json");
    let state = repo.tmp.path().join("state");
    let out = verify(&format!("http://{}", server.addr), &root, &state, &["syn", "Libc", "no-such-crate", "--all"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("snapshot 1 (timestamp version 1,"), "{text}");
    assert!(text.contains("config.json verified"), "{text}");
    assert!(text.contains("syn: 3/s/syn verified in snapshot 1 ("), "{text}");
    assert!(text.contains("Libc: li/bc/libc verified in snapshot 1"), "{text}");
    assert!(
        text.contains("no-such-crate: no/-s/no-such-crate is not in snapshot 1 (non-inclusion proof verified)"),
        "{text}"
    );
    let files = text.lines().find_map(|l| l.strip_prefix("verified all ")).expect("an --all summary");
    assert!(files.starts_with("191 index files of snapshot 1"), "{text}");
    assert!(text.contains("ok: snapshot 1, config.json and 194 index file answers verified"), "{text}");
    assert!(state.join("root.json").is_file() && state.join("timestamp.json").is_file(), "state kept");

    // A plain static host: the same, from the static layout.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let host = PlainHost::start(&rt, &repo.out);
    let out = verify(&host.url(), &root, &repo.tmp.path().join("state2"), &["syn", "no-such-crate", "--all"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("verified all 191 index files"), "{}", stdout(&out));
}

#[test]
fn a_file_that_does_not_match_its_leaf_fails_with_its_path_and_the_reason() {
    let repo = Published::fixture_copy();
    let server = Server::start(&repo.out);
    let root = repo.out.join("tuf/1.root.json");
    // The served file (a hard link to its blob) loses a byte.
    let file = repo.out.join("snapshots/1/index/3/s/syn");
    let mut bytes = std::fs::read(&file).expect("syn");
    bytes.pop();
    std::fs::write(&file, bytes).expect("write");

    let mirror = format!("http://{}", server.addr);
    for extra in [&["syn"][..], &["--all"][..]] {
        let out = verify(&mirror, &root, &repo.tmp.path().join("state"), extra);
        let err = stderr(&out);
        assert!(!out.status.success(), "{extra:?} passed:\n{}", stdout(&out));
        assert!(err.contains("error: 3/s/syn: refused (trusted snapshot 1)"), "{extra:?}: {err}");
        assert!(err.contains("does not match its leaf"), "{extra:?}: {err}");
    }
    let out = verify(&mirror, &root, &repo.tmp.path().join("state"), &["not a crate"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not a crate"), "{}", stderr(&out));
}

#[test]
fn the_state_folder_keeps_a_mirror_from_rolling_back() {
    let repo = Published::fixture_copy();
    let old = repo.tmp.path().join("old-out");
    let copied = std::process::Command::new("cp").arg("-a").arg(&repo.out).arg(&old).status().expect("cp");
    assert!(copied.success());
    std::fs::remove_file(repo.index.join("3/l/log")).expect("remove");
    publish_ok(&repo.index, &repo.keys, &repo.out);
    let (new_server, old_server) = (Server::start(&repo.out), Server::start(&old));
    let root = repo.out.join("tuf/1.root.json");
    let state = repo.tmp.path().join("state");

    let out = verify(&format!("http://{}", new_server.addr), &root, &state, &["log"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("log: 3/l/log is not in snapshot 2"), "{}", stdout(&out));
    let out = verify(&format!("http://{}", old_server.addr), &root, &state, &["log"]);
    assert!(!out.status.success(), "the old snapshot was accepted:\n{}", stdout(&out));
    assert!(stderr(&out).contains("(rollback)"), "{}", stderr(&out));
    // Without the state, the old copy is a consistent mirror of its own.
    let out = verify(&format!("http://{}", old_server.addr), &root, &repo.tmp.path().join("fresh"), &["log"]);
    assert!(out.status.success(), "{}", stderr(&out));
}
