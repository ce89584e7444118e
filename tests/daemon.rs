//! The daemon against a fake upstream on loopback: first start, on-demand fetches, what is served
//! and how, what upstream garbage does (nothing), the quarantine, allow/deny, removals, retained
//! snapshots, `tufmirror sync`, configuration errors and shutdown.

mod common;

use common::HttpResponse;
use common::daemon::{Daemon, DaemonConfig, tufmirror_command};
use common::refresh::{refresh_past, served_snapshot};
use common::verify_http::{Pins, VerifiedSnapshot, get_ok, proof_header, verify_absent, verify_daemon};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use tufmirror_core::Sha256Hash;
use tufmirror_core::diff::SnapshotDiff;
use tufmirror_core::merkle::{InclusionProof, Leaf};
use tufmirror_core::metadata::{Role, Timestamp};
use tufmirror_core::verify::{RoleVerifier, parse_verified};
use tufmirror_testkit::registry::{CrateFile, Dep, index_path, make_crate};
use tufmirror_testkit::upstream::{FakeUpstream, Fault};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// The value of one series in `/metrics` (0 when it was never set), e.g.
/// `tufmirror_upstream_checks_total{result="invalid"}`.
fn metric(daemon: &Daemon, series: &str) -> f64 {
    let text = String::from_utf8(daemon.get("/metrics").body).expect("metrics are UTF-8");
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().expect("a metric value"))
}

const INVALID: &str = r#"tufmirror_upstream_checks_total{result="invalid"}"#;
const QUARANTINED: &str = r#"tufmirror_upstream_checks_total{result="quarantined"}"#;
const ERRORS: &str = "tufmirror_upstream_errors_total";
const QUARANTINED_FILES: &str = "tufmirror_quarantined_files";

/// Runs `tufmirror ARGS` in `dir` without proxies; killed if it takes longer than `limit`.
fn tufmirror_in(dir: &Path, args: &[&str], limit: Duration) -> Output {
    let child = tufmirror_command(dir, args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tufmirror");
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(limit).is_err() {
            let pid = rustix::process::Pid::from_raw(pid as i32).expect("pid");
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    });
    let out = child.wait_with_output().expect("wait for tufmirror");
    let _ = done_tx.send(());
    watchdog.join().expect("watchdog");
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `tufmirror quarantine --config DIR/tufmirror.toml ARGS`, which must succeed.
fn quarantine_cli(dir: &Path, args: &[&str]) -> String {
    let config = dir.join("tufmirror.toml");
    let mut all = vec!["quarantine", "--config", config.to_str().expect("utf-8")];
    all.extend_from_slice(args);
    let out = tufmirror_in(dir, &all, Duration::from_secs(30));
    assert!(out.status.success(), "tufmirror {all:?} failed:\n{}", stderr(&out));
    stdout(&out)
}

/// Every leaf ever published (snapshot 1 up to `n`), from the diffs: what a client may ever
/// have been served.
fn leaves_ever_published(addr: SocketAddr, n: u64) -> Vec<Leaf> {
    let mut out = Vec::new();
    for k in 1..=n {
        let diff: SnapshotDiff =
            serde_json::from_slice(&get_ok(addr, &format!("/history/{k}.diff.json"))).expect("diff parses");
        assert_eq!(diff.snapshot_version, k);
        out.extend(diff.added);
        out.extend(diff.changed);
    }
    out
}

fn line(krate: &CrateFile, yanked: bool) -> String {
    format!("{}\n", krate.index_line(yanked))
}

fn index(daemon: &Daemon, path: &str) -> HttpResponse {
    daemon.get(&format!("/index/{path}"))
}

#[test]
fn first_start_signs_an_empty_snapshot_and_fetches_on_demand() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let leaf = make_crate("leaf", "1.0.0", &[], "pub fn one() -> u32 { 1 }");
    let app = make_crate("app-lib", "0.1.0", &[Dep::new("leaf", "^1")], "pub fn two() -> u32 { leaf::one() + 1 }");
    upstream.publish(&leaf, false);
    upstream.publish(&app, false);

    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(dir.path(), &DaemonConfig::new(&upstream.url()));
    let ready = daemon.get("/readyz");
    assert_eq!(ready.status, 200, "ready at once: {}", String::from_utf8_lossy(&ready.body));
    let timestamp = daemon.get("/tuf/timestamp.json");
    assert_eq!(timestamp.status, 200);
    let empty = verify_daemon(daemon.addr);
    assert_eq!((empty.version, empty.files.len()), (1, 0), "snapshot 1 is the empty tree");

    let file = daemon.get("/index/ap/p-/app-lib");
    assert_eq!(file.status, 200);
    assert_eq!(file.body, format!("{}\n", app.index_line(false)).into_bytes(), "served exactly as upstream sent it");
    assert!(file.headers.contains_key("tuf-merkle-proof"));
    assert_eq!(upstream.hits("ap/p-/app-lib"), 1);

    let missing = daemon.get("/index/no/su/nosuchcrate");
    assert_eq!(missing.status, 404);
    assert!(missing.headers.contains_key("tuf-merkle-proof"), "a 404 carries its non-inclusion proof");

    let download = daemon.get("/crates/leaf/1.0.0/download");
    assert_eq!(download.status, 404, "no signed index entry for leaf yet");
    assert_eq!(daemon.get("/index/le/af/leaf").status, 200);
    let download = daemon.get("/crates/leaf/1.0.0/download");
    assert_eq!(download.status, 200);
    assert_eq!(download.body, leaf.bytes);

    let verified = verify_daemon(daemon.addr);
    assert_eq!(verified.files.keys().collect::<Vec<_>>(), ["ap/p-/app-lib", "le/af/leaf"]);
    verify_absent(daemon.addr, &verified, "no/su/nosuchcrate");
}

/// Invalid files, truncated bodies, errors, hangs and history rewrites from upstream: the last
/// good file stays served byte for byte, no snapshot ever holds anything else, every snapshot
/// verifies, and the metrics count what happened. A crate the mirror lacks gets a 502.
#[test]
fn upstream_garbage_never_reaches_a_snapshot_and_the_last_good_file_stays_served() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let v1 = make_crate("good-crate", "1.0.0", &[], "pub fn f() -> u32 { 1 }");
    let v2 = make_crate("good-crate", "1.1.0", &[], "pub fn f() -> u32 { 2 }");
    upstream.publish(&v1, false);
    let path = "go/od/good-crate";

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = DaemonConfig::new(&upstream.url());
    config.mirror_extra = "revalidate_after = \"0s\"".to_owned();
    let daemon = Daemon::start(dir.path(), &config);
    let good = index(&daemon, path).body;
    assert_eq!(good, line(&v1, false).into_bytes());
    let before = verify_daemon(daemon.addr);
    assert_eq!(before.files[path], good);
    assert_eq!(upstream.hits(path), 2, "revalidate_after = 0s: every request asks upstream");

    // A valid next file, so that a garbled copy of it would be a visible change.
    let next = [line(&v1, false), line(&v2, false)].concat().into_bytes();
    let still_good = |what: &str| {
        let hits = upstream.hits(path);
        let response = index(&daemon, path);
        assert!(upstream.hits(path) > hits, "{what}: the request revalidated");
        assert_eq!(response.status, 200, "{what}: {}", String::from_utf8_lossy(&response.body));
        assert_eq!(response.body, good, "{what}: the last good file is served");
        let verified = verify_daemon(daemon.addr);
        assert_eq!(verified.version, before.version, "{what}: no snapshot was published");
        assert_eq!(verified.files[path], good, "{what}");
    };

    // (a) a line that is not an index line
    let mut garbage = good.clone();
    garbage.extend_from_slice(b"{\"name\": \"good-crate\", \"vers\": \"1.2.0\", \"cksum\": 17}\n");
    upstream.set_file(path, garbage);
    still_good("an invalid line");
    assert!(metric(&daemon, INVALID) >= 1.0, "invalid files are counted");
    assert_eq!(metric(&daemon, ERRORS), 0.0);

    // (b) a body cut short
    upstream.set_file(path, next.clone());
    upstream.set_fault(path, Fault::Truncate(next.len() - 30));
    still_good("a truncated body");
    let errors = metric(&daemon, ERRORS);
    assert!(errors >= 1.0, "a truncated body is an upstream error");

    // (c) a server error
    upstream.set_fault(path, Fault::Status(500));
    still_good("a 500");
    assert!(metric(&daemon, ERRORS) > errors, "a 500 is an upstream error");
    let errors = metric(&daemon, ERRORS);

    // (d) no answer at all: the request still gets the last good file, before its own timeout
    upstream.set_fault(path, Fault::Hang);
    let started = Instant::now();
    let response = index(&daemon, path);
    let waited = started.elapsed();
    assert_eq!((response.status, &response.body), (200, &good), "a hanging upstream");
    assert!(waited < Duration::from_secs(15), "answered after {waited:?}");
    // The request may have given up waiting (10 s) before the check did (2 attempts of 3 s and a
    // backoff, slower on a loaded machine).
    let deadline = Instant::now() + Duration::from_secs(15);
    while metric(&daemon, ERRORS) <= errors && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(metric(&daemon, ERRORS) > errors, "a timeout is an upstream error (answered after {waited:?})");
    upstream.clear_fault(path);
    upstream.set_file(path, good.clone());
    still_good("after a hang");

    // (e) the published version's cksum changes: quarantined
    let rewritten = make_crate("good-crate", "1.0.0", &[], "pub fn f() -> u32 { 666 }");
    upstream.set_file(path, line(&rewritten, false).into_bytes());
    still_good("a rewritten cksum");
    assert_eq!(metric(&daemon, QUARANTINED), 1.0, "quarantined once, however often it is offered");
    assert_eq!(metric(&daemon, QUARANTINED_FILES), 1.0);

    // A crate the mirror lacks, invalid upstream: a 502 and nothing published.
    let new_path = "ne/w-/new-crate";
    upstream.set_file(new_path, b"this is not an index file\n".to_vec());
    let response = index(&daemon, new_path);
    assert_eq!(response.status, 502, "{}", String::from_utf8_lossy(&response.body));
    assert!(!response.headers.contains_key("tuf-merkle-proof"), "a 502 proves nothing");

    // Upstream recovers: the valid next file is accepted, which clears the quarantine.
    upstream.set_file(path, next.clone());
    assert_eq!(index(&daemon, path).body, next, "a valid file after all that is accepted");
    let after = verify_daemon(daemon.addr);
    assert_eq!(after.version, before.version + 1);
    assert_eq!(after.files.keys().collect::<Vec<_>>(), [path], "the new crate is in no snapshot");
    assert_eq!(metric(&daemon, QUARANTINED_FILES), 0.0, "a valid file that keeps history ends the quarantine");

    // Over the whole history, only the two good files were ever published.
    let allowed = [Sha256Hash::of(&good), Sha256Hash::of(&next)];
    for leaf in leaves_ever_published(daemon.addr, after.version) {
        assert_eq!(leaf.path, path, "only {path} was ever published");
        assert!(allowed.contains(&leaf.sha256), "a snapshot held {leaf:?}");
    }
}

/// `tufmirror quarantine list|reject|accept` against the running daemon, and `list` with the
/// daemon stopped.
#[test]
fn quarantine_is_decided_through_the_cli() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let rej = make_crate("reject-me", "1.0.0", &[], "pub fn f() {}");
    let acc = make_crate("accept-me", "1.0.0", &[], "pub fn f() {}");
    upstream.publish(&rej, false);
    upstream.publish(&acc, false);
    let (rej_path, acc_path) = ("re/je/reject-me", "ac/ce/accept-me");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = DaemonConfig::new(&upstream.url());
    config.mirror_extra = "revalidate_after = \"0s\"".to_owned();
    let mut daemon = Daemon::start(dir.path(), &config);
    let rej_good = index(&daemon, rej_path).body;
    let acc_good = index(&daemon, acc_path).body;
    assert_eq!(daemon.get("/crates/accept-me/1.0.0/download").body, acc.bytes, "the old .crate is cached");
    assert_eq!(quarantine_cli(dir.path(), &["list"]).trim(), "[]");

    // Both crates rewrite their 1.0.0.
    let rej_bad = make_crate("reject-me", "1.0.0", &[], "pub fn f() { /* changed */ }");
    let acc_new = make_crate("accept-me", "1.0.0", &[], "pub fn f() { /* rebuilt */ }");
    upstream.set_file(rej_path, line(&rej_bad, false).into_bytes());
    upstream.set_file(acc_path, line(&acc_new, false).into_bytes());
    upstream.set_crate_bytes("accept-me", "1.0.0", acc_new.bytes.clone());
    assert_eq!(index(&daemon, rej_path).body, rej_good);
    assert_eq!(index(&daemon, acc_path).body, acc_good);
    assert_eq!(metric(&daemon, QUARANTINED_FILES), 2.0);

    let list: serde_json::Value = serde_json::from_str(&quarantine_cli(dir.path(), &["list"])).expect("list is JSON");
    let entries = list.as_array().expect("a list");
    assert_eq!(entries.len(), 2, "{list}");
    for (entry, path, offered) in [(&entries[0], acc_path, &acc_new), (&entries[1], rej_path, &rej_bad)] {
        assert_eq!(entry["path"], path, "{list}");
        let reason = entry["reason"].as_str().expect("reason");
        assert!(reason.contains("1.0.0") && reason.contains(&offered.cksum), "{reason}");
        assert_eq!(entry["sha256"], Sha256Hash::of(line(offered, false).as_bytes()).to_hex());
        assert_eq!(entry["rejected"], false);
    }

    // Reject: the old file stays, and the same bytes offered again are not quarantined again.
    let out = quarantine_cli(dir.path(), &["reject", rej_path]);
    assert!(out.contains(rej_path), "{out}");
    let counted = metric(&daemon, QUARANTINED);
    for _ in 0..3 {
        assert_eq!(index(&daemon, rej_path).body, rej_good);
    }
    assert_eq!(metric(&daemon, QUARANTINED), counted, "rejected bytes are ignored");
    assert_eq!(metric(&daemon, QUARANTINED_FILES), 1.0, "only accept-me waits for a decision");
    // Other bad bytes are a new case.
    let rej_worse = make_crate("reject-me", "1.0.0", &[], "pub fn f() { /* again */ }");
    upstream.set_file(rej_path, line(&rej_worse, false).into_bytes());
    assert_eq!(index(&daemon, rej_path).body, rej_good);
    assert_eq!(metric(&daemon, QUARANTINED), counted + 1.0, "different bytes are quarantined anew");
    quarantine_cli(dir.path(), &["reject", rej_path]);

    // Accept: the new file is published and the .crate with the new cksum is served.
    let before = verify_daemon(daemon.addr);
    let out = quarantine_cli(dir.path(), &["accept", acc_path]);
    let answer: serde_json::Value = serde_json::from_str(&out).expect("accept answers JSON");
    assert_eq!(answer["snapshot_version"], before.version + 1, "{answer}");
    let after = verify_daemon(daemon.addr);
    assert_eq!(after.files[acc_path], line(&acc_new, false).into_bytes(), "the accepted file is published");
    assert_eq!(after.files[rej_path], rej_good);
    assert_eq!(index(&daemon, acc_path).body, line(&acc_new, false).into_bytes(), "and stays served");
    let download = daemon.get("/crates/accept-me/1.0.0/download");
    assert_eq!((download.status, &download.body), (200, &acc_new.bytes), "downloads follow the accepted cksum");
    assert_eq!(metric(&daemon, QUARANTINED_FILES), 0.0);
    let config_path = dir.path().join("tufmirror.toml");
    let unknown = tufmirror_in(
        dir.path(),
        &["quarantine", "--config", config_path.to_str().expect("utf-8"), "accept", "no/su/nosuchcrate"],
        Duration::from_secs(30),
    );
    assert!(!unknown.status.success() && stderr(&unknown).contains("not in quarantine"), "{}", stderr(&unknown));

    // With the daemon stopped, the CLI opens the data folder itself.
    assert!(stop_within(&mut daemon, Duration::from_secs(10)).0.success());
    let list: serde_json::Value = serde_json::from_str(&quarantine_cli(dir.path(), &["list"])).expect("list is JSON");
    let entries = list.as_array().expect("a list");
    assert_eq!(entries.len(), 1, "{list}");
    assert_eq!((&entries[0]["path"], &entries[0]["rejected"]), (&rej_path.into(), &true.into()), "{list}");
}

/// Denied crates are 404 without asking upstream, and their downloads too.
#[test]
fn denied_crates_are_never_fetched() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let evil = make_crate("evil-crate", "1.0.0", &[], "pub fn f() {}");
    let fine = make_crate("fine-crate", "1.0.0", &[], "pub fn f() {}");
    let later = make_crate("evil-later", "1.0.0", &[], "pub fn f() {}");
    for krate in [&evil, &fine, &later] {
        upstream.publish(krate, false);
    }

    // evil-later is mirrored before the deny rule exists.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = DaemonConfig::new(&upstream.url());
    let mut daemon = Daemon::start(dir.path(), &config);
    assert_eq!(index(&daemon, "ev/il/evil-later").status, 200);
    assert_eq!(daemon.get("/crates/evil-later/1.0.0/download").status, 200);
    let pins = Pins::observe(daemon.addr);
    daemon.kill();

    config.mirror_extra = "deny = [\"evil*\"]".to_owned();
    let daemon = Daemon::start(dir.path(), &config);
    pins.assert_kept(daemon.addr, "restarted with a deny rule");
    assert_eq!(index(&daemon, "fi/ne/fine-crate").status, 200);
    let denied = index(&daemon, "ev/il/evil-crate");
    assert_eq!(denied.status, 404);
    assert_eq!(upstream.hits("ev/il/evil-crate"), 0, "upstream never hears of a denied crate");
    assert_eq!(daemon.get("/crates/evil-crate/1.0.0/download").status, 404);
    assert_eq!(upstream.hits("crates/evil-crate/1.0.0/download"), 0);

    // A crate denied after it was mirrored: not served any more, and its removal is signed.
    let hits = upstream.hits("ev/il/evil-later");
    assert_eq!(daemon.get("/crates/evil-later/1.0.0/download").status, 404, "a denied .crate is not served");
    let verified = verify_daemon(daemon.addr);
    assert!(!verified.files.contains_key("ev/il/evil-later"), "a denied crate left the snapshot");
    verify_absent(daemon.addr, &verified, "ev/il/evil-later");
    verify_absent(daemon.addr, &verified, "ev/il/evil-crate");
    assert_eq!(upstream.hits("ev/il/evil-later"), hits, "nor is upstream asked about it");
    let removals = removals_by_path(&daemon, &verified);
    assert!(removals.contains_key("ev/il/evil-later"), "{removals:?}");
}

/// Removal records of every snapshot up to `verified`, by path: (snapshot, reason).
fn removals_by_path(daemon: &Daemon, verified: &VerifiedSnapshot) -> BTreeMap<String, (u64, String)> {
    let verifier = RoleVerifier::from_root(&verified.root, Role::Targets).expect("targets role");
    let mut out = BTreeMap::new();
    for n in 1..=verified.version {
        let bytes = get_ok(daemon.addr, &format!("/tuf/{n}.targets.json"));
        let targets = parse_verified::<tufmirror_core::metadata::Targets>(&bytes, &verifier).expect("targets");
        let diff: SnapshotDiff =
            serde_json::from_slice(&get_ok(daemon.addr, &format!("/history/{n}.diff.json"))).expect("diff");
        let recorded: Vec<&str> = targets.signed.removals.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(recorded, diff.removed, "snapshot {n}: the removal records are exactly the diff's removals");
        for r in targets.signed.removals {
            assert_eq!(r.snapshot_version, n);
            out.insert(r.path, (n, r.reason));
        }
    }
    out
}

/// New versions appear after a refresh (not before: within `revalidate_after` upstream is not
/// asked), a yank flip is accepted, and a crate removed upstream is kept, or (keep_removed =
/// false) removed with a signed record that a client verifies. The refresh is asked for, not
/// waited for: `revalidate_after` and `removal_grace` on the engine's clock are tested at their
/// edges in crates/mirror/tests/clock.rs.
#[test]
fn upstream_changes_are_followed_after_a_refresh() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let v1 = make_crate("follow-me", "1.0.0", &[], "pub fn f() -> u32 { 1 }");
    let v2 = make_crate("follow-me", "1.1.0", &[], "pub fn f() -> u32 { 2 }");
    let gone = make_crate("gone-soon", "1.0.0", &[], "pub fn f() {}");
    upstream.publish(&v1, false);
    upstream.publish(&gone, false);
    let (path, gone_path) = ("fo/ll/follow-me", "go/ne/gone-soon");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = DaemonConfig::new(&upstream.url());
    config.mirror_extra = "revalidate_after = \"1h\"".to_owned();
    let daemon = Daemon::start(dir.path(), &config);
    assert_eq!(index(&daemon, path).body, line(&v1, false).into_bytes());
    assert_eq!(index(&daemon, gone_path).status, 200);

    // A new version: not asked for within revalidate_after, picked up by a refresh.
    upstream.publish(&v2, false);
    assert_eq!(index(&daemon, path).body, line(&v1, false).into_bytes(), "within revalidate_after");
    assert_eq!(upstream.hits(path), 1, "no upstream request within revalidate_after");
    let served = refresh_past(&daemon, served_snapshot(&daemon));
    let both = [line(&v1, false), line(&v2, false)].concat().into_bytes();
    assert_eq!(index(&daemon, path).body, both, "after the refresh");

    // Yanking 1.0.0 only flips a flag: accepted, not quarantined.
    let yanked = [line(&v1, true), line(&v2, false)].concat().into_bytes();
    upstream.set_file(path, yanked.clone());
    // Removed upstream, kept by default.
    upstream.remove_file(gone_path);
    refresh_past(&daemon, served);
    assert_eq!(index(&daemon, path).body, yanked, "a yank flip is published");
    assert_eq!(index(&daemon, gone_path).status, 200, "keep_removed = true keeps a crate removed upstream");
    assert_eq!(metric(&daemon, QUARANTINED_FILES), 0.0);
    assert_eq!(quarantine_cli(dir.path(), &["list"]).trim(), "[]");
    let verified = verify_daemon(daemon.addr);
    assert_eq!(verified.files[path], yanked);
    assert!(verified.files.contains_key(gone_path));
    assert!(verified.targets.removals.is_empty());
    drop(daemon);

    // keep_removed = false: the crate leaves with a signed removal record.
    let dir = tempfile::tempdir().expect("tempdir");
    upstream.publish(&gone, false);
    config.mirror_extra = "revalidate_after = \"1h\"\nkeep_removed = false\nremoval_grace = \"0s\"".to_owned();
    let daemon = Daemon::start(dir.path(), &config);
    assert_eq!(index(&daemon, gone_path).status, 200);
    assert_eq!(index(&daemon, path).status, 200);
    let before = verify_daemon(daemon.addr);
    upstream.remove_file(gone_path);
    refresh_past(&daemon, before.version);
    let response = index(&daemon, gone_path);
    assert_eq!(response.status, 404, "removed upstream, removed here");
    let after = verify_daemon(daemon.addr);
    assert_eq!(after.version, before.version + 1);
    verify_absent(daemon.addr, &after, gone_path);
    assert_eq!(after.files.keys().collect::<Vec<_>>(), [path]);
    let records: Vec<_> = after.targets.removals.iter().map(|r| (r.path.as_str(), r.snapshot_version)).collect();
    assert_eq!(records, [(gone_path, after.version)], "targets {} records the removal", after.version);
    assert!(after.targets.removals[0].reason.contains("upstream"), "{:?}", after.targets.removals[0]);
    let diff: SnapshotDiff =
        serde_json::from_slice(&get_ok(daemon.addr, &format!("/history/{}.diff.json", after.version))).expect("diff");
    assert_eq!(diff.removed, [gone_path]);
    let removals = removals_by_path(&daemon, &after);
    assert_eq!(removals.keys().collect::<Vec<_>>(), [gone_path]);
}

/// `/snapshots/N/` keeps serving snapshot N after N+1 changed a file; ETags give 304s;
/// `config.json` points downloads at the public URL; uncommitted versions are 404.
#[test]
fn retained_snapshots_etags_config_and_uncommitted_versions() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let v1 = make_crate("snap-crate", "1.0.0", &[], "pub fn f() -> u32 { 1 }");
    let v2 = make_crate("snap-crate", "1.1.0", &[], "pub fn f() -> u32 { 2 }");
    upstream.publish(&v1, false);
    let path = "sn/ap/snap-crate";

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = DaemonConfig::new(&upstream.url());
    config.mirror_extra = "revalidate_after = \"1h\"".to_owned();
    let daemon = Daemon::start(dir.path(), &config);
    let old = index(&daemon, path).body;
    let n = verify_daemon(daemon.addr).version;

    // ETag and If-None-Match on /index/ (nothing changes meanwhile: no refresh was asked for).
    let first = index(&daemon, path);
    let etag = first.headers.get("etag").expect("an ETag").clone();
    assert_eq!(etag, format!("\"{}\"", Sha256Hash::of(&old)));
    let again = daemon.get_with(&format!("/index/{path}"), &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let proof: InclusionProof = proof_header(&again.headers).expect("a 304 carries the proof");
    assert_eq!(proof.leaf_contents, Leaf::of(path, &old));
    let other = daemon.get_with(&format!("/index/{path}"), &[("If-None-Match", "\"0000\"")]);
    assert_eq!((other.status, &other.body), (200, &old), "another ETag gets the file");

    // config.json: downloads through the public URL.
    let config_json: serde_json::Value =
        serde_json::from_slice(&get_ok(daemon.addr, "/index/config.json")).expect("config.json");
    assert_eq!(config_json["dl"], format!("{}/crates", daemon.url()), "{config_json}");

    // Snapshot n+1 changes the file; n stays readable as it was.
    upstream.publish(&v2, false);
    refresh_past(&daemon, n);
    let new = index(&daemon, path).body;
    assert_eq!(new, [line(&v1, false), line(&v2, false)].concat().into_bytes());
    let verified = verify_daemon(daemon.addr);
    assert_eq!(verified.version, n + 1);
    let retained = daemon.get(&format!("/snapshots/{n}/index/{path}"));
    assert_eq!((retained.status, &retained.body), (200, &old), "snapshot {n} as signed");
    let until = retained.headers.get("tuf-snapshot-retained-until").expect("retention header");
    let until = tufmirror_core::time::parse(until).expect("an RFC 3339 time");
    assert!(until > time::OffsetDateTime::now_utc(), "retained until {until}");
    assert_eq!(get_ok(daemon.addr, &format!("/snapshots/{}/index/{path}", n + 1)), new);

    // Snapshot n's static proof verifies against the timestamp that signed snapshot n.
    let proof: InclusionProof =
        serde_json::from_slice(&get_ok(daemon.addr, &format!("/snapshots/{n}/proofs/{path}"))).expect("proof");
    let timestamp = timestamp_of_snapshot(&daemon, &verified, n);
    proof
        .verify_file(path, &old, &timestamp.merkle_root.expect("root"), timestamp.merkle_tree_size.expect("size"), n)
        .expect("snapshot n's proof");

    // Versions that are not committed are 404, even when a file for them lies on disk (a
    // publish that crashed before its commit leaves such files).
    let next = verified.version + 1;
    for (file, bytes) in [
        (format!("tuf/{next}.snapshot.json"), get_ok(daemon.addr, &format!("/tuf/{}.snapshot.json", n))),
        (format!("tuf/{next}.targets.json"), get_ok(daemon.addr, &format!("/tuf/{}.targets.json", n))),
        (format!("history/{next}.diff.json"), get_ok(daemon.addr, &format!("/history/{}.diff.json", n))),
    ] {
        std::fs::write(daemon.data().join(&file), bytes).expect("plant a leftover");
        assert_eq!(daemon.get(&format!("/{file}")).status, 404, "/{file} is not committed");
    }
    for file in ["/tuf/99.snapshot.json", "/tuf/99.targets.json", "/tuf/0.snapshot.json", "/tuf/2.root.json"] {
        assert_eq!(daemon.get(file).status, 404, "{file}");
    }
    assert_eq!(daemon.get(&format!("/snapshots/{}/leaves.json", next)).status, 404);
    assert_eq!(daemon.get(&format!("/snapshots/{}/index/{path}", next)).status, 404);
}

/// The historic timestamp that signed snapshot `n` (any of them, if it was re-signed).
fn timestamp_of_snapshot(daemon: &Daemon, verified: &VerifiedSnapshot, n: u64) -> Timestamp {
    let verifier = RoleVerifier::from_root(&verified.root, Role::Timestamp).expect("timestamp role");
    (1..=verified.timestamp_version)
        .map(|v| {
            let bytes = get_ok(daemon.addr, &format!("/history/{v}.timestamp.json"));
            parse_verified::<Timestamp>(&bytes, &verifier).expect("timestamp verifies").signed
        })
        .find(|t| t.snapshot_version() == Some(n))
        .unwrap_or_else(|| panic!("no timestamp signs snapshot {n}"))
}

/// A small registry: app -> liba -> leafy, app -dev-> devonly -> devleaf, app -> evil-dep
/// (denied), and an unrelated crate.
struct Graph {
    crates: Vec<CrateFile>,
}

impl Graph {
    fn publish(upstream: &FakeUpstream) -> Graph {
        let app = make_crate(
            "app",
            "1.0.0",
            &[Dep::new("liba", "^1"), Dep::new("devonly", "^1"), Dep::new("evil-dep", "^1")],
            "pub fn f() {}",
        );
        let crates = vec![
            make_crate("liba", "1.0.0", &[Dep::new("leafy", "^1")], "pub fn f() {}"),
            make_crate("leafy", "1.0.0", &[], "pub fn f() {}"),
            make_crate("leafy", "1.1.0", &[], "pub fn f() {}"),
            make_crate("devonly", "1.0.0", &[Dep::new("devleaf", "^1")], "pub fn f() {}"),
            make_crate("devleaf", "1.0.0", &[], "pub fn f() {}"),
            make_crate("evil-dep", "1.0.0", &[], "pub fn f() {}"),
            make_crate("unrelated", "1.0.0", &[], "pub fn f() {}"),
        ];
        for krate in &crates {
            upstream.publish(krate, false);
        }
        // devonly is a dev-dependency of app: rewrite the kind of that one dependency.
        let mut app_line = app.index_line(false);
        let at = app_line.find("{\"name\": \"devonly\"").expect("devonly dep");
        let kind = at + app_line[at..].find("\"kind\": \"normal\"").expect("kind");
        app_line.replace_range(kind..kind + "\"kind\": \"normal\"".len(), "\"kind\": \"dev\"");
        upstream.set_file(&index_path("app"), format!("{app_line}\n").into_bytes());
        upstream.set_crate_bytes("app", "1.0.0", app.bytes.clone());
        let mut all = vec![app];
        all.extend(crates);
        Graph { crates: all }
    }

    fn paths(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| index_path(n)).collect()
    }
}

fn sync_cli(dir: &Path) -> Output {
    let config = dir.join("tufmirror.toml");
    tufmirror_in(dir, &["sync", "--config", config.to_str().expect("utf-8")], Duration::from_secs(60))
}

/// `tufmirror sync` with seeds mirrors the dependency closure (dev-dependencies only when asked,
/// denied crates never), publishes and exits 0; with `prefetch_crates` the daemon then serves
/// every `.crate` without upstream.
#[test]
fn sync_mirrors_the_closure_of_the_seeds() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let graph = Graph::publish(&upstream);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = DaemonConfig::new(&upstream.url());
    config.mirror_extra = "seeds = [\"app\"]\ndeny = [\"evil*\"]".to_owned();
    config.write(dir.path(), 9);
    let out = sync_cli(dir.path());
    assert!(out.status.success(), "sync failed:\n{}", stderr(&out));
    assert!(stdout(&out).contains("snapshot 2: 3 index files"), "{}", stdout(&out));
    for name in ["app", "liba", "leafy"] {
        assert_eq!(upstream.hits(&index_path(name)), 1, "{name} fetched once");
    }
    for name in ["devonly", "devleaf", "evil-dep", "unrelated"] {
        assert_eq!(upstream.hits(&index_path(name)), 0, "{name} not fetched");
    }
    assert_eq!(upstream.total_hits(), 3, "nothing else was asked, not even a .crate");
    let daemon = Daemon::start(dir.path(), &config);
    let verified = verify_daemon(daemon.addr);
    assert_eq!(verified.files.keys().cloned().collect::<BTreeSet<_>>(), Graph::paths(&["app", "liba", "leafy"]));
    drop(daemon);

    // Dev-dependencies followed, and every .crate fetched ahead of time.
    let dir = tempfile::tempdir().expect("tempdir");
    config.mirror_extra =
        "seeds = [\"app\"]\ndeny = [\"evil*\"]\ndev_dependencies = true\nprefetch_crates = true".into();
    config.write(dir.path(), 9);
    let out = sync_cli(dir.path());
    assert!(out.status.success(), "sync failed:\n{}", stderr(&out));
    let report = stdout(&out);
    assert!(report.contains("snapshot 2: 5 index files") && report.contains("6 .crate files fetched"), "{report}");
    assert_eq!(upstream.hits(&index_path("evil-dep")), 0);
    assert_eq!(upstream.hits("crates/evil-dep/1.0.0/download"), 0);
    let mirrored: Vec<&CrateFile> =
        graph.crates.iter().filter(|c| !matches!(c.name.as_str(), "evil-dep" | "unrelated")).collect();
    for krate in &mirrored {
        let stored = dir.path().join("data/crates").join(&krate.cksum[..2]).join(&krate.cksum);
        assert_eq!(std::fs::read(&stored).ok().as_ref(), Some(&krate.bytes), "{} {}", krate.name, krate.vers);
    }

    // Upstream gone: the daemon serves the index and every .crate from its data folder.
    let upstream_url = upstream.url();
    drop(upstream);
    let daemon = Daemon::start(dir.path(), &DaemonConfig { upstream: upstream_url, ..config.clone() });
    let verified = verify_daemon(daemon.addr);
    assert_eq!(
        verified.files.keys().cloned().collect::<BTreeSet<_>>(),
        Graph::paths(&["app", "liba", "leafy", "devonly", "devleaf"])
    );
    for krate in &mirrored {
        let download = daemon.get(&format!("/crates/{}/{}/download", krate.name, krate.vers));
        assert_eq!((download.status, &download.body), (200, &krate.bytes), "{} {}", krate.name, krate.vers);
    }
    assert_eq!(daemon.get("/crates/evil-dep/1.0.0/download").status, 404);
}

/// Runs `tufmirror serve` with the config in `dir`, expecting it to refuse to start.
fn serve_must_fail(dir: &Path) -> String {
    let config = dir.join("tufmirror.toml");
    let started = Instant::now();
    let out = tufmirror_in(dir, &["serve", "--config", config.to_str().expect("utf-8")], Duration::from_secs(20));
    assert!(!out.status.success(), "serve started with a bad config:\n{}", stdout(&out));
    assert!(started.elapsed() < Duration::from_secs(15), "serve took {:?} to fail", started.elapsed());
    assert!(!stdout(&out).contains("listening"), "{}", stdout(&out));
    stderr(&out)
}

/// A bad configuration stops `serve` at once, and the error names the key and the file.
#[test]
fn config_errors_name_the_key_and_the_file() {
    let upstream = "http://127.0.0.1:9/";
    type Edit = fn(String) -> String;
    let cases: [(&str, Edit, &[&str]); 4] = [
        ("unknown key", |t| t.replace("[mirror]\n", "[mirror]\nseedz = [\"app\"]\n"), &["seedz"]),
        ("bad listen", |t| t.replacen("listen = \"127.0.0.1:", "listen = \"nope\"\n#", 1), &["listen", "nope"]),
        ("bad duration", |t| t.replace("timeout = \"3s\"", "timeout = \"soon\""), &["timeout", "soon"]),
        (
            "unreadable key",
            |t| t.replace("file:data/keys/targets.pem", "file:data/keys/no-such-key.pem"),
            &["no-such-key.pem", "keys.targets"],
        ),
    ];
    for (what, edit, expected) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = DaemonConfig::new(upstream).write(dir.path(), 9);
        let text = std::fs::read_to_string(&path).expect("config");
        std::fs::write(&path, edit(text)).expect("edited config");
        let err = serve_must_fail(dir.path());
        for word in expected {
            assert!(err.contains(word), "{what}: stderr does not name {word:?}:\n{err}");
        }
        assert!(err.contains("tufmirror.toml"), "{what}: stderr does not name the config file:\n{err}");
    }
}

/// SIGTERM, then the exit status within `limit` (the daemon is killed and the test fails when it
/// does not exit in time).
fn stop_within(daemon: &mut Daemon, limit: Duration) -> (std::process::ExitStatus, Duration) {
    let mut child = daemon.child.take().expect("running");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return (status, started.elapsed());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the daemon did not exit within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGTERM: exit status 0, promptly, also with a sync running and a request waiting on upstream;
/// the data folder is then whole.
#[test]
fn sigterm_stops_the_daemon_gracefully() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let krate = make_crate("term-crate", "1.0.0", &[], "pub fn f() {}");
    upstream.publish(&krate, false);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut daemon = Daemon::start(dir.path(), &DaemonConfig::new(&upstream.url()));
    assert_eq!(index(&daemon, "te/rm/term-crate").status, 200);
    let (status, took) = stop_within(&mut daemon, Duration::from_secs(5));
    assert!(status.success(), "exit status {status:?} after {took:?}");

    // Busy: a refresh stuck on a hanging upstream (the list makes it start at once) and a
    // client waiting for a new crate.
    upstream.set_fault("te/rm/term-crate", Fault::Hang);
    upstream.set_fault("ha/ng/hang-crate", Fault::Hang);
    std::fs::write(dir.path().join("crates.txt"), "term-crate\n").expect("list");
    let mut config = DaemonConfig::new(&upstream.url());
    config.mirror_extra = "list_file = \"crates.txt\"".to_owned();
    drop(daemon);
    let mut daemon = Daemon::start(dir.path(), &config);
    let deadline = Instant::now() + Duration::from_secs(5);
    while upstream.hits("te/rm/term-crate") == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(upstream.hits("te/rm/term-crate") > 0, "the refresh is running");
    let verified = verify_daemon(daemon.addr);
    assert_eq!(verified.files.keys().collect::<Vec<_>>(), ["te/rm/term-crate"]);
    let addr = daemon.addr;
    let waiting = std::thread::spawn(move || common::http_get(addr, "/index/ha/ng/hang-crate", &[]).status);
    let deadline = Instant::now() + Duration::from_secs(5);
    while upstream.hits("ha/ng/hang-crate") == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(upstream.hits("ha/ng/hang-crate") > 0, "the request reached upstream");
    let pins = Pins::observe(daemon.addr);
    let (status, took) = stop_within(&mut daemon, Duration::from_secs(5));
    assert!(status.success(), "exit status {status:?} after {took:?}");
    let answered = waiting.join().expect("client");
    assert!(answered >= 500, "the waiting request got {answered}");

    daemon.restart();
    pins.assert_kept(daemon.addr, "restarted after SIGTERM");
    let after = verify_daemon(daemon.addr);
    assert_eq!(after.files, verified.files);
}

#[test]
fn prefetch_dependencies_fetches_the_newest_versions_dependencies_in_the_same_batch() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let base = make_crate("basedep", "1.0.0", &[], "pub fn b() {}");
    let old_only = make_crate("olddep", "1.0.0", &[], "pub fn o() {}");
    upstream.publish(&base, false);
    upstream.publish(&old_only, false);
    upstream.publish(&make_crate("topcrate", "1.0.0", &[Dep::new("olddep", "^1")], "pub fn t() {}"), false);
    upstream.publish(&make_crate("topcrate", "2.0.0", &[Dep::new("basedep", "^1")], "pub fn t() {}"), false);
    let (base_path, old_path) = (index_path("basedep"), index_path("olddep"));

    let off = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(off.path(), &DaemonConfig::new(&upstream.url()));
    assert_eq!(index(&daemon, &index_path("topcrate")).status, 200);
    assert_eq!(upstream.hits(&base_path), 0, "off by default: only what was asked for");
    drop(daemon);

    let on = tempfile::tempdir().expect("tempdir");
    let config =
        DaemonConfig { mirror_extra: "prefetch_dependencies = true".into(), ..DaemonConfig::new(&upstream.url()) };
    let daemon = Daemon::start(on.path(), &config);
    assert_eq!(index(&daemon, &index_path("topcrate")).status, 200);
    assert_eq!(upstream.hits(&base_path), 1, "the newest version's dependency came with its dependent");
    assert_eq!(upstream.hits(&old_path), 0, "an older version's dependency did not");
    assert_eq!(index(&daemon, &base_path).body, format!("{}\n", base.index_line(false)).into_bytes());
    assert_eq!(upstream.hits(&base_path), 1, "and is answered from the snapshot");
}

#[test]
fn a_hanging_upstream_path_does_not_hold_other_on_demand_requests() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let quick = make_crate("quick", "1.0.0", &[], "pub fn q() {}");
    upstream.publish(&quick, false);
    upstream.publish(&make_crate("slowpoke", "1.0.0", &[], "pub fn s() {}"), false);
    upstream.set_fault(&index_path("slowpoke"), Fault::Hang);
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(dir.path(), &DaemonConfig::new(&upstream.url()));

    let addr = daemon.addr;
    let slow_path = format!("/index/{}", index_path("slowpoke"));
    let slow = std::thread::spawn(move || common::http_get(addr, &slow_path, &[]).status);
    common::wait_until("the slow crate's request reaches upstream", || upstream.hits(&index_path("slowpoke")) > 0);
    // The hanging check holds its batch for (retries + 1) upstream timeouts; another crate's
    // batch is answered meanwhile.
    assert_eq!(index(&daemon, &index_path("quick")).status, 200);
    assert!(!slow.is_finished(), "the quick crate was answered while the slow one still waited");
    assert_eq!(slow.join().expect("slow request"), 502, "the hanging crate fails cleanly");
}

/// Against an upstream that sends `ETag`s (index.crates.io does), the daemon stores the `ETag` of
/// what it fetched, revalidates with `If-None-Match` on its next refresh, takes the `304` as
/// "unchanged", and keeps serving the same file under a snapshot that verifies. The fake
/// upstream's request log is the proof that the conditional request was sent and answered `304`.
#[test]
fn a_refresh_revalidates_with_the_stored_etag_and_keeps_the_file_on_304() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    upstream.set_etags(true);
    let krate = make_crate("etag-crate", "1.0.0", &[], "pub fn e() {}");
    upstream.publish(&krate, false);
    let path = index_path("etag-crate");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut daemon = Daemon::start(dir.path(), &DaemonConfig::new(&upstream.url()));
    let first = index(&daemon, &path);
    assert_eq!(first.status, 200);
    let etag = FakeUpstream::etag_of(&first.body);
    let fetched: Vec<_> = upstream.requests().into_iter().filter(|r| r.path == path).collect();
    assert_eq!(fetched.len(), 1, "{fetched:?}");
    assert_eq!((fetched[0].if_none_match.as_deref(), fetched[0].status), (None, Some(200)));
    assert_eq!(fetched[0].etag.as_deref(), Some(etag.as_str()), "upstream sent its ETag");
    let before = verify_daemon(daemon.addr);

    // A refresh now: it checks every mirrored crate, conditionally.
    daemon.refresh_now();
    common::wait_until("the refresh asks upstream for the file again", || {
        upstream.requests().iter().filter(|r| r.path == path && r.status.is_some()).count() >= 2
    });
    let revalidations: Vec<_> =
        upstream.requests().into_iter().filter(|r| r.path == path && r.status.is_some()).skip(1).collect();
    for r in &revalidations {
        assert_eq!(r.if_none_match.as_deref(), Some(etag.as_str()), "the stored ETag is sent: {r:?}");
        assert_eq!(r.status, Some(304), "{r:?}");
    }

    let after = verify_daemon(daemon.addr);
    assert_eq!(after.files, before.files, "a 304 keeps the file");
    assert_eq!(after.files[&path], first.body);
    assert_eq!(index(&daemon, &path).body, first.body);
    assert!(metric(&daemon, "tufmirror_upstream_checks_total{result=\"unchanged\"}") >= 1.0);
    assert!(daemon.stop().success());
}

/// The restart tests' pins catch a daemon that came back with other keys: here its data folder
/// is lost between two starts, so the second start generates a new root 1 and new online keys,
/// all of which verify on their own (trust on first use) but not against what a client pinned.
#[test]
fn pins_refuse_a_restart_that_regenerated_the_keys() {
    let rt = runtime();
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = DaemonConfig::new(&upstream.url());
    let mut daemon = Daemon::start(dir.path(), &config);
    let pins = Pins::observe(daemon.addr);
    assert_eq!(pins.check(daemon.addr), Ok(()), "a daemon keeps its own pins");
    assert!(daemon.stop().success());

    daemon.restart();
    pins.assert_kept(daemon.addr, "a plain restart");
    daemon.kill();

    std::fs::remove_dir_all(daemon.data()).expect("remove the data folder");
    daemon.restart();
    verify_daemon(daemon.addr);
    let refused = pins.check(daemon.addr).expect_err("new keys must break the pins");
    assert!(refused.starts_with("1.root.json changed"), "{refused}");
}
