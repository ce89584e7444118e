//! The auditor (docs/audit.md) against mirrors published with `tufmirror publish` (and one run by
//! the daemon): a good history of many snapshots, with signed removals and yank flips, passes from
//! nothing and then run by run, and is attested; a hostile mirror that holds its online keys and
//! (a) drops a version, (b) changes a published cksum, (c) drops a crate without a removal record,
//! (d) republishes an older tree under a new timestamp, or (e) removes a crate with a record the
//! targets role did not sign, is reported, named precisely, and not attested. A client that
//! requires an audit refuses a snapshot until it is attested; python-tuf still refreshes against a
//! root that declares auditors; the service audits each new snapshot within seconds and survives
//! being killed.

mod common;

use common::audit::{Mirror, audit, describe, findings, index_line};
use common::daemon::{Daemon, DaemonConfig};
use common::http_get;
use serde_json::Value;
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tufmirror_audit::{RequireAuditError, require_audit};
use tufmirror_client::{HttpConfig, HttpFetcher, Updater, UpdaterConfig};
use tufmirror_core::Sha256Hash;
use tufmirror_core::audit_rules::{AttestationError, check_attestations};
use tufmirror_core::metadata::{Root, Timestamp};
use tufmirror_core::verify::parse_unverified;

const SERDE: &str = "se/rd/serde";
const ANYHOW: &str = "an/yh/anyhow";
const LOG: &str = "3/l/log";
const PROBE: &str = "au/di/auditprobe";

/// The mirror, a state folder, the trusted root and the attestation options of one auditor.
struct Auditor<'a> {
    mirror: &'a Mirror,
    state: PathBuf,
    key: String,
    out: PathBuf,
}

impl<'a> Auditor<'a> {
    /// An auditor of `mirror` that signs with the key root declares and writes its attestations
    /// into the published repository's `audit/` (served by `serve-static`).
    fn new(mirror: &'a Mirror) -> Self {
        Auditor {
            mirror,
            state: mirror.tmp.path().join("audit-state"),
            key: format!("file:{}", mirror.auditor_key.display()),
            out: mirror.out.join("audit"),
        }
    }

    fn run(&self) -> (i32, Value, std::process::Output) {
        let out = self.out.to_str().expect("utf-8");
        audit(
            &self.mirror.url(),
            &self.state,
            &self.mirror.keys.join("1.root.json"),
            &["--key", &self.key, "--out", out],
        )
    }

    /// Runs and expects a clean audit up to `snapshot`, attested.
    fn passes(&self, snapshot: u64) -> Value {
        let (code, report, out) = self.run();
        assert_eq!(code, 0, "a good history passes:\n{}", describe(&out));
        assert_eq!(report["findings"], Value::Array(vec![]));
        assert_eq!(report["to"]["snapshot"], snapshot, "{report}");
        assert_eq!(report["attested"]["snapshot"], snapshot, "attested: {report}");
        report
    }

    /// Runs and expects findings (exit 1) and no attestation of the current snapshot.
    fn finds(&self) -> Vec<(String, Value)> {
        let (code, report, out) = self.run();
        assert_eq!(code, 1, "findings exit 1:\n{}", describe(&out));
        assert_eq!(report["attested"], Value::Null, "nothing is attested: {report}");
        let (n, _) = self.mirror.current();
        assert!(!self.out.join(format!("{n}.json")).exists(), "no attestation of snapshot {n}");
        findings(&report)
    }

    /// [`Self::finds`] exactly one finding, of `kind`: its JSON.
    fn finds_one(&self, kind: &str) -> Value {
        let found = self.finds();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, kind, "{found:?}");
        found[0].1.clone()
    }

    fn latest(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.out.join("latest.json")).expect("latest.json")).expect("json")
    }
}

#[test]
fn a_good_history_passes_from_nothing_then_run_by_run_and_is_attested() {
    let m = Mirror::new();
    // Three more snapshots before the auditor ever runs: a new version, a yank flip, a new crate.
    m.add_line(SERDE, &index_line("serde", "9.0.0", 'a', false));
    assert_eq!(m.publish(), 2);
    let first_anyhow = m.first_version(ANYHOW);
    m.set_yanked(ANYHOW, &first_anyhow, true);
    m.publish();
    m.add_line(PROBE, &index_line("auditprobe", "0.1.0", 'b', false));
    m.publish();

    let auditor = Auditor::new(&m);
    let report = auditor.passes(4);
    assert_eq!((report["from"]["snapshot"].as_u64(), report["snapshots_checked"].as_u64()), (Some(0), Some(4)));
    assert!(report["files_checked"].as_u64().expect("count") >= 191, "every index file's versions: {report}");

    // Run by run: each checks only the new snapshot.
    let steps: [&dyn Fn(); 4] = [
        &|| m.remove_crate(PROBE),
        &|| {
            m.set_yanked(ANYHOW, &first_anyhow, false);
            m.add_line(SERDE, &index_line("serde", "9.0.1", 'c', false));
        },
        &|| m.add_line(PROBE, &index_line("auditprobe", "0.2.0", 'd', false)),
        &|| m.set_yanked(SERDE, "9.0.0", true),
    ];
    for (i, step) in steps.iter().enumerate() {
        step();
        let n = m.publish();
        assert_eq!(n, 5 + i as u64);
        let report = auditor.passes(n);
        assert_eq!(report["snapshots_checked"], 1, "only what is new: {report}");
        assert_eq!(report["from"]["snapshot"], n - 1);
    }
    let (code, report, out) = auditor.run();
    assert_eq!(code, 0, "{}", describe(&out));
    assert_eq!((report["snapshots_checked"].as_u64(), report["timestamps_checked"].as_u64()), (Some(0), Some(0)));
    assert_eq!(report["attested"], Value::Null, "already attested");

    // The attestation is what a client checks against its verified root and timestamp.
    let root = newest_root(&m.out);
    let timestamp = read_timestamp(&m.out.join("tuf/timestamp.json"));
    let attestation = std::fs::read(m.out.join("audit/8.json")).expect("8.json");
    let attested = check_attestations(&root, &timestamp, &[&attestation]).expect("attested");
    assert_eq!(attested.snapshot_version, 8);
    assert_eq!(auditor.latest()["signed"]["snapshot_version"], 8);
}

#[test]
fn a_dropped_version_is_named_and_not_attested() {
    let m = Mirror::new();
    let auditor = Auditor::new(&m);
    auditor.passes(1);
    let vers = m.first_version(SERDE);
    m.drop_version(SERDE, &vers);
    m.publish();
    let f = auditor.finds_one("version_removed");
    assert_eq!((f["crate"].as_str(), f["version"].as_str()), (Some("serde"), Some(vers.as_str())));
    assert_eq!((f["previous_snapshot"].as_u64(), f["snapshot"].as_u64()), (Some(1), Some(2)));
    assert_eq!(f["path"], SERDE);
    // The finding stays open: the next run reports it again and still attests nothing.
    let (code, report, _) = auditor.run();
    assert_eq!((code, report["open_findings"].as_u64()), (1, Some(1)));
    assert_eq!(auditor.latest()["signed"]["snapshot_version"], 1, "latest.json stays at the last good snapshot");
    // An operator who has investigated acknowledges it; attestations resume.
    let state = auditor.state.to_str().expect("utf-8");
    let listed = common::tufmirror_ok(&["audit", "--state", state, "--list-findings"]);
    assert!(listed.contains("[open] snapshot 2: crate serde version"), "{listed}");
    common::tufmirror_ok(&["audit", "--state", state, "--acknowledge"]);
    auditor.passes(2);
}

#[test]
fn a_changed_cksum_is_named_and_not_attested() {
    let m = Mirror::new();
    let auditor = Auditor::new(&m);
    auditor.passes(1);
    let vers = m.first_version(LOG);
    m.set_cksum(LOG, &vers, 'e');
    m.add_line(SERDE, &index_line("serde", "9.0.0", 'a', false));
    m.publish();
    // The new serde version is fine; log's rewrite is not.
    let f = auditor.finds_one("checksum_changed");
    assert_eq!((f["crate"].as_str(), f["version"].as_str()), (Some("log"), Some(vers.as_str())));
    assert_eq!(f["cksum"], "e".repeat(64));
    assert_ne!(f["previous_cksum"], f["cksum"]);
    assert_eq!((f["previous_snapshot"].as_u64(), f["snapshot"].as_u64()), (Some(1), Some(2)));
}

#[test]
fn a_crate_dropped_without_a_removal_record_is_named_and_not_attested() {
    let m = Mirror::new();
    let auditor = Auditor::new(&m);
    auditor.passes(1);
    m.remove_crate(LOG);
    m.publish();
    // The mirror drops the record (and re-signs targets, snapshot and timestamp with its keys).
    m.resign_targets(|t| t.removals.clear(), "targets");
    let f = auditor.finds_one("removed_without_record");
    assert_eq!((f["crate"].as_str(), f["path"].as_str()), (Some("log"), Some(LOG)));
    assert_eq!((f["previous_snapshot"].as_u64(), f["snapshot"].as_u64()), (Some(1), Some(2)));
}

#[test]
fn an_older_tree_under_a_new_timestamp_is_named_and_not_attested() {
    let m = Mirror::new();
    m.add_line(SERDE, &index_line("serde", "9.0.0", 'a', false));
    m.publish();
    let auditor = Auditor::new(&m);
    auditor.passes(2);
    // Timestamp version 3 names snapshot 1 again, with its genuine root: every signature is good.
    m.next_timestamp(1, |_| {});
    let f = auditor.finds_one("snapshot_rollback");
    assert_eq!((f["timestamp_version"].as_u64(), f["snapshot"].as_u64()), (Some(3), Some(1)));
    assert_eq!((f["previous_timestamp_version"].as_u64(), f["previous_snapshot"].as_u64()), (Some(2), Some(2)));
    // A client that requires an audit refuses the rolled-back timestamp: no attestation covers it.
    let root = newest_root(&m.out);
    let two = std::fs::read(m.out.join("audit/2.json")).expect("2.json");
    let rolled_back = read_timestamp(&m.out.join("tuf/timestamp.json"));
    let refused = check_attestations(&root, &rolled_back, &[&two]);
    assert!(
        matches!(&refused, Err(AttestationError::NotCovered { reason }) if reason.contains("the timestamp names snapshot 1")),
        "snapshot 2's attestation does not cover a timestamp naming snapshot 1: {refused:?}"
    );

    // Timestamp version 4 names snapshot 2 with a root that is not snapshot 2's.
    m.next_timestamp(2, |t| t.merkle_root = Some(Sha256Hash([0; 32])));
    let (code, report, out) = auditor.run();
    assert_eq!(code, 1, "{}", describe(&out));
    let found = findings(&report);
    assert!(
        found.iter().any(|(k, f)| k == "root_mismatch" && f["timestamp_version"] == 4 && f["snapshot"] == 2),
        "{found:?}"
    );
}

#[test]
fn a_removal_record_not_signed_by_the_targets_role_is_named_and_not_attested() {
    let m = Mirror::new();
    let auditor = Auditor::new(&m);
    auditor.passes(1);
    m.remove_crate(LOG);
    m.publish();
    // The record is there, but the targets metadata carrying it is signed with the snapshot key.
    m.resign_targets(|_| {}, "snapshot");
    let found = auditor.finds();
    let kinds: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["not_signed", "removed_without_record"], "{found:?}");
    assert_eq!(
        (found[0].1["role"].as_str(), found[0].1["file"].as_str()),
        (Some("targets"), Some("tuf/2.targets.json"))
    );
    let f = &found[1].1;
    assert_eq!((f["crate"].as_str(), f["snapshot"].as_u64()), (Some("log"), Some(2)));
    assert!(f["reason"].as_str().expect("reason").contains("not signed by the targets role"), "{f}");
}

#[test]
fn bytes_the_mirror_does_not_serve_are_owed_and_checked_once_served() {
    let m = Mirror::new();
    let auditor = Auditor::new(&m);
    auditor.passes(1);
    // Snapshot 2 drops a version of serde, and the mirror does not serve that file of snapshot 2.
    let vers = m.first_version(SERDE);
    m.drop_version(SERDE, &vers);
    m.publish();
    let served = m.out.join("snapshots/2/index").join(SERDE);
    let hidden = m.tmp.path().join("serde");
    std::fs::rename(&served, &hidden).expect("hide");
    let (code, report, out) = auditor.run();
    assert_eq!(code, 2, "an audit that could not read what it must is incomplete:\n{}", describe(&out));
    assert_eq!((report["to"]["snapshot"].as_u64(), report["files_unavailable"].as_u64()), (Some(2), Some(1)));
    assert!(report["incomplete"].as_str().is_some_and(|r| r.contains("did not serve")), "{report}");
    assert_eq!(report["attested"], Value::Null, "nothing owed may be attested");
    // Served again: the owed bytes are compared with the last verified ones.
    std::fs::rename(&hidden, &served).expect("serve");
    let (code, report, out) = auditor.run();
    assert_eq!(code, 1, "{}", describe(&out));
    let found = findings(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "version_removed");
    assert_eq!((found[0].1["previous_snapshot"].as_u64(), found[0].1["snapshot"].as_u64()), (Some(1), Some(2)));
}

#[test]
fn two_timestamps_with_one_version_are_named() {
    let m = Mirror::new();
    let auditor = Auditor::new(&m);
    auditor.passes(1);
    m.add_line(SERDE, &index_line("serde", "9.0.0", 'a', false));
    m.publish();
    // The current timestamp says the same as history's copy but for its expiry: still two statements.
    m.fork_current_timestamp(|t| t.expires += time::Duration::hours(1));
    let f = auditor.finds_one("conflicting_timestamps");
    assert_eq!((f["timestamp_version"].as_u64(), f["snapshot"].as_u64()), (Some(2), Some(2)));
}

#[test]
fn an_audit_stopped_by_a_missing_diff_resumes_where_it_stopped() {
    let m = Mirror::new();
    let auditor = Auditor::new(&m);
    auditor.passes(1);
    for i in 0..3 {
        m.add_line(SERDE, &index_line("serde", &format!("9.0.{i}"), 'a', false));
        m.publish();
    }
    let diff = m.out.join("history/3.diff.json");
    let hidden = m.tmp.path().join("3.diff.json");
    std::fs::rename(&diff, &hidden).expect("hide the diff");
    let (code, report, out) = auditor.run();
    assert_eq!(code, 1, "{}", describe(&out));
    assert_eq!(report["to"]["snapshot"], 2, "the state stops before what it could not check: {report}");
    assert!(report["incomplete"].as_str().is_some_and(|r| r.contains("snapshot 3")), "{report}");
    assert_eq!(findings(&report)[0].0, "missing_history");
    std::fs::rename(&hidden, &diff).expect("restore the diff");
    let report = auditor.passes(4);
    assert_eq!((report["from"]["snapshot"].as_u64(), report["snapshots_checked"].as_u64()), (Some(2), Some(2)));
}

#[test]
fn a_mirror_that_cannot_be_read_exits_2() {
    let m = Mirror::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port");
    let (code, report, out) =
        audit(&format!("http://{closed}/"), &m.tmp.path().join("s"), &m.keys.join("1.root.json"), &[]);
    assert_eq!((code, report), (2, Value::Null), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not audit"), "{}", describe(&out));
    // A new state needs a root to trust.
    let out = Command::new(common::bin())
        .args(["audit", "--mirror", &m.url(), "--state"])
        .arg(m.tmp.path().join("s2"))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--root"), "{}", describe(&out));
}

fn newest_root(out: &Path) -> Root {
    parse_unverified::<Root>(&std::fs::read(out.join("tuf/root.json")).expect("root.json")).expect("root").0.signed
}

fn read_timestamp(path: &Path) -> Timestamp {
    parse_unverified::<Timestamp>(&std::fs::read(path).expect("timestamp")).expect("timestamp").0.signed
}

/// A TUF client of `m` (tufmirror's own), refreshed: (verified root, verified timestamp).
fn refresh(rt: &tokio::runtime::Runtime, m: &Mirror, dir: &Path) -> (Root, Timestamp) {
    if !dir.exists() {
        Updater::init(dir, &std::fs::read(m.keys.join("1.root.json")).expect("root v1")).expect("init");
    }
    let fetcher = Arc::new(HttpFetcher::new(&HttpConfig::default()).expect("fetcher"));
    let mut updater =
        Updater::new(dir, &format!("{}tuf/", m.url()), fetcher, UpdaterConfig::default()).expect("updater");
    rt.block_on(updater.refresh()).expect("refresh");
    (updater.trusted().root().clone(), updater.timestamp().expect("timestamp").clone())
}

#[test]
fn a_client_that_requires_an_audit_waits_for_the_attestation() {
    let rt = common::audit::runtime();
    let m = Mirror::new();
    let client = m.tmp.path().join("client");
    let fetcher = HttpFetcher::new(&HttpConfig::default()).expect("fetcher");
    let urls = vec![format!("{}audit/", m.url())];
    let require = |root: &Root, ts: &Timestamp| rt.block_on(require_audit(&fetcher, &urls, root, ts));

    let (root, ts) = refresh(&rt, &m, &client);
    assert_eq!(root.version, 2, "the client follows to the root that declares the auditor");
    match require(&root, &ts) {
        Err(RequireAuditError::NotAudited { snapshot: 1, source: AttestationError::NoAttestation { .. } }) => {}
        other => panic!("snapshot 1 is not attested yet: {other:?}"),
    }
    let auditor = Auditor::new(&m);
    auditor.passes(1);
    let attested = require(&root, &ts).expect("attested now");
    assert_eq!(attested.snapshot_version, 1);

    m.add_line(SERDE, &index_line("serde", "9.0.0", 'a', false));
    m.publish();
    let (root, ts) = refresh(&rt, &m, &client);
    match require(&root, &ts) {
        Err(RequireAuditError::NotAudited { snapshot: 2, source: AttestationError::NoAttestation { .. } }) => {}
        other => panic!("snapshot 2 is not attested yet: {other:?}"),
    }
    auditor.passes(2);
    require(&root, &ts).expect("snapshot 2 attested");

    // An attestation by a key that root does not declare counts for nothing.
    let other_key = m.tmp.path().join("other.pem");
    tufmirror_signer::generate_key_file(&other_key, tufmirror_signer::KeyAlgorithm::Ed25519).expect("key");
    let other = Auditor {
        mirror: &m,
        state: m.tmp.path().join("other-state"),
        key: format!("file:{}", other_key.display()),
        out: m.out.join("audit"),
    };
    other.passes(2);
    match require(&root, &ts) {
        Err(RequireAuditError::NotAudited {
            source: AttestationError::Threshold { valid: 0, threshold: 1 }, ..
        }) => {}
        other => panic!("an undeclared auditor is refused: {other:?}"),
    }
}

/// `tufmirror verify --require-audit` and `tufmirror proxy --require-audit` refuse the snapshot
/// until the auditor has attested it, and accept it afterwards.
#[test]
fn verify_and_the_proxy_require_an_attestation_when_asked() {
    let m = Mirror::new();
    let root = m.keys.join("1.root.json");
    let verify = |state: &str| {
        common::daemon::tufmirror_command(m.tmp.path(), &["verify", "--mirror", &m.url(), "--root"])
            .arg(&root)
            .args(["--state", state, "--require-audit", "serde"])
            .output()
            .expect("run verify")
    };
    let refused = verify("verify-state");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "verify accepted an unattested snapshot");
    assert!(stderr.contains("snapshot 1 is not attested"), "verify says why: {stderr}");
    let without = common::daemon::tufmirror_command(m.tmp.path(), &["verify", "--mirror", &m.url(), "--root"])
        .arg(&root)
        .args(["--state", "plain-state", "serde"])
        .output()
        .expect("run verify");
    assert!(without.status.success(), "without --require-audit the same mirror verifies: {}", describe(&without));

    let mut proxy = common::daemon::tufmirror_command(m.tmp.path(), &["proxy", "--mirror", &m.url(), "--root"])
        .arg(&root)
        .args(["--state", "proxy-state", "--listen", "127.0.0.1:0", "--require-audit"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the proxy");
    let line = common::first_line(&mut proxy, "tufmirror proxy --require-audit");
    let addr: SocketAddr = line.trim().trim_start_matches("listening on ").parse().expect("address");
    let before = http_get(addr, "/index/se/rd/serde", &[]);
    assert_eq!(before.status, 403, "the proxy refuses an unattested snapshot");
    assert!(String::from_utf8_lossy(&before.body).contains("not attested"));

    Auditor::new(&m).passes(1);
    let accepted = verify("verify-state");
    assert!(accepted.status.success(), "verify accepts the attested snapshot: {}", describe(&accepted));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let after = http_get(addr, "/index/se/rd/serde", &[]);
        if after.status == 200 {
            assert_eq!(after.body, std::fs::read(m.out.join("index/se/rd/serde")).expect("served file"));
            break;
        }
        assert!(Instant::now() < deadline, "the proxy never accepted the attested snapshot: {}", after.status);
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = proxy.kill();
    let _ = proxy.wait();
}

#[test]
fn python_tuf_refreshes_against_a_root_that_declares_auditors() {
    let m = Mirror::new();
    Auditor::new(&m).passes(1);
    let root = m.keys.join("1.root.json");
    let out = common::python::tuf_interop([
        OsStr::new("--root"),
        root.as_os_str(),
        OsStr::new("--url"),
        OsStr::new(&m.url()),
    ])
    .ok();
    assert!(out.contains("trusted root v2"), "python-tuf follows to the root with x-tufmirror-auditors: {out}");
}

/// A running `tufmirror audit --follow`, killed on drop.
struct Follower {
    child: Child,
    addr: SocketAddr,
}

impl Follower {
    fn start(m: &Mirror, state: &Path) -> Follower {
        let key = format!("file:{}", m.auditor_key.display());
        let mut child = Command::new(common::bin())
            .args(["audit", "--follow", "--interval", "200ms", "--listen", "127.0.0.1:0", "--mirror", &m.url()])
            .arg("--state")
            .arg(state)
            .arg("--root")
            .arg(m.keys.join("1.root.json"))
            .args(["--key", &key, "--out"])
            .arg(m.out.join("audit"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tufmirror audit --follow");
        let line = common::first_line(&mut child, "tufmirror audit --follow");
        let addr = line.trim().strip_prefix("listening on ").and_then(|a| a.parse().ok());
        Follower { child, addr: addr.unwrap_or_else(|| panic!("no address in {line:?}")) }
    }

    /// A gauge of `/metrics` (0 when absent).
    fn metric(&self, name: &str) -> u64 {
        let text = String::from_utf8(http_get(self.addr, "/metrics", &[]).body).expect("utf-8");
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0)
    }

    /// Waits until the auditor has audited and attested snapshot `n`; returns how long it took.
    /// The deadline is a guard against a hang, not a performance bound (benches/audit.rs measures
    /// what an audit costs).
    fn wait_for(&self, n: u64) -> Duration {
        common::wait_until(&format!("snapshot {n} attested"), || self.metric("tufmirror_audit_attested_snapshot") >= n)
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_service_audits_each_snapshot_and_survives_being_killed() {
    let m = Mirror::new();
    let state = m.tmp.path().join("follow-state");
    let mut follower = Follower::start(&m, &state);
    follower.wait_for(1);
    for i in 0..3 {
        m.add_line(SERDE, &index_line("serde", &format!("9.0.{i}"), 'a', false));
        let n = m.publish();
        let took = follower.wait_for(n);
        eprintln!("snapshot {n} attested {took:?} after it was published (polling every 200 ms)");
    }
    assert_eq!(follower.metric("tufmirror_audit_audited_snapshot"), 4);
    assert_eq!(follower.metric("tufmirror_audit_open_findings"), 0);
    let latest = http_get(follower.addr, "/audit/latest.json", &[]);
    assert_eq!(latest.status, 200, "the service serves its attestations");
    let latest: Value = serde_json::from_slice(&latest.body).expect("json");
    assert_eq!(latest["signed"]["snapshot_version"], 4);

    // Killed outright, then restarted: it goes on from what it committed.
    let _ = follower.child.kill();
    let _ = follower.child.wait();
    m.add_line(SERDE, &index_line("serde", "9.1.0", 'b', false));
    let n = m.publish();
    follower = Follower::start(&m, &state);
    follower.wait_for(n);
    // SIGTERM is a clean stop.
    let pid = rustix::process::Pid::from_raw(follower.child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    let status = common::wait_with_deadline(&mut follower.child, "tufmirror audit --follow (after SIGTERM)");
    assert!(status.success(), "a clean stop: {status}");
}

#[test]
fn the_daemon_history_passes_and_the_daemon_serves_the_attestations() {
    use tufmirror_testkit::registry::make_crate;
    use tufmirror_testkit::upstream::FakeUpstream;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    upstream.publish(&make_crate("leaf", "1.0.0", &[], "pub fn one() -> u32 { 1 }"), false);
    upstream.publish(&make_crate("other", "0.1.0", &[], "pub fn two() -> u32 { 2 }"), false);
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(dir.path(), &DaemonConfig::new(&upstream.url()));
    assert_eq!(daemon.get("/index/le/af/leaf").status, 200);
    let key = dir.path().join("auditor.pem");
    tufmirror_signer::generate_key_file(&key, tufmirror_signer::KeyAlgorithm::Ed25519).expect("key");
    let (key, out) = (format!("file:{}", key.display()), daemon.data().join("audit"));
    let args = ["--key", key.as_str(), "--out", out.to_str().expect("utf-8")];
    let (state, root) = (dir.path().join("state"), daemon.data().join("keys/1.root.json"));
    let (code, report, output) = audit(&format!("{}/", daemon.url()), &state, &root, &args);
    assert_eq!(code, 0, "{}", describe(&output));
    let first = report["to"]["snapshot"].as_u64().expect("snapshot");
    assert!(first >= 2, "the empty snapshot, then leaf: {report}");
    assert_eq!(daemon.get("/index/ot/he/other").status, 200);
    let (code, report, output) = audit(&format!("{}/", daemon.url()), &state, &root, &args);
    assert_eq!(code, 0, "{}", describe(&output));
    let n = report["attested"]["snapshot"].as_u64().expect("attested");
    assert!(n > first, "{report}");
    let served = daemon.get("/audit/latest.json");
    assert_eq!(served.status, 200);
    assert_eq!(served.body, std::fs::read(out.join(format!("{n}.json"))).expect("N.json"));
}
