//! The rotation runbook of docs/key-management.md, end to end, against a running daemon:
//!
//! 1. a root v1 ceremony (root keys A, B, C; 2-of-3), the daemon starts under it;
//! 2. v2 rotates the timestamp key onto a SoftHSM2 token (`keys rotate`, a ceremony, `root publish`
//!    to the running daemon), which re-signs everything with the new key at once;
//! 3. v3 replaces root key C with D, still 2-of-3.
//!
//! After each step a client that started from root v1 follows the chain and verifies every index
//! file and its proof, and python-tuf's `Updater` (one that keeps its trusted metadata between
//! runs, and one that starts from v1 each time) accepts the repository. A timestamp signed with the
//! retired key is refused by both; a v3 signed by the removed key plus one kept key (v2's threshold,
//! not its own) is refused by the daemon and by the client; and the daemon refuses to start with a
//! key that root does not list for its role, naming both keys.

mod common;

use common::daemon::{Daemon, DaemonConfig, tufmirror_command};
use common::python::tuf_interop;
use common::verify_http::{VerifiedSnapshot, get_ok, verify_daemon};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use tufmirror_client::{HttpConfig, HttpFetcher, Updater, UpdaterConfig};
use tufmirror_core::PublicKey;
use tufmirror_core::metadata::{Role, Root, Timestamp};
use tufmirror_core::verify::{RoleVerifier, VerifyError, parse_unverified, verify_root_update};
use tufmirror_signer::{FileSigner, KeyAlgorithm, generate_key_file, sign_metadata};
use tufmirror_testkit::softhsm::SoftHsm;
use tufmirror_testkit::upstream::FakeUpstream;

/// tufmirror's TUF client (`tufmirror_client::Updater`) bootstrapped with root v1, keeping its
/// trusted metadata in a folder between refreshes, as a developer machine does.
struct Client {
    dir: PathBuf,
    root: Root,
}

impl Client {
    fn new(dir: &Path, root_v1: &[u8]) -> Client {
        Updater::init(dir, root_v1).expect("the client trusts root v1");
        let (root, _) = parse_unverified::<Root>(root_v1).expect("root v1 parses");
        Client { dir: dir.to_owned(), root: root.signed }
    }

    /// Refreshes (the root chain with both thresholds at each step, then timestamp, snapshot and
    /// targets under the newest root), then verifies the whole current snapshot over HTTP:
    /// leaves against the signed Merkle root, and every index file against its proof.
    fn follow(&mut self, rt: &tokio::runtime::Runtime, daemon: &Daemon) -> VerifiedSnapshot {
        let fetcher = Arc::new(HttpFetcher::new(&HttpConfig::default()).expect("fetcher"));
        let url = format!("{}/tuf/", daemon.url());
        let mut updater = Updater::new(&self.dir, &url, fetcher, UpdaterConfig::default()).expect("updater");
        rt.block_on(updater.refresh()).unwrap_or_else(|e| panic!("the client refuses the mirror: {e}"));
        self.root = updater.trusted().root().clone();
        let timestamp = updater.timestamp().expect("a verified timestamp").clone();
        let verified = verify_daemon(daemon.addr);
        assert_eq!(verified.root, self.root, "the snapshot verifies under the root this client followed to");
        assert_eq!(Some(verified.version), timestamp.snapshot_version(), "the client trusts the served snapshot");
        assert!(!verified.files.is_empty(), "index files were verified");
        verified
    }
}

/// The test's folder: root key holders, online keys, the HSM, the daemon.
struct Ceremony {
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Ceremony {
    fn run(&self, args: &[&str]) -> Output {
        tufmirror_command(&self.dir, args).envs(self.env.iter().map(|(k, v)| (k, v))).output().expect("run tufmirror")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "tufmirror {args:?} failed: {}\n{stdout}\n{stderr}", out.status);
        format!("{stdout}{stderr}")
    }

    fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success(), "tufmirror {args:?} succeeded but should be refused:\n{stdout}\n{stderr}");
        format!("{stdout}{stderr}")
    }

    fn sign(&self, proposal: &str, holders: &[&str]) {
        for holder in holders {
            self.ok(&[
                "root",
                "sign",
                proposal,
                "--roots",
                "daemon/roots",
                "--key",
                &format!("file:holders/{holder}.pem"),
            ]);
        }
    }
}

fn keys_section(timestamp: &str) -> String {
    format!(
        "root_dir = \"roots\"\n\
         targets = \"file:../online/targets.pem\"\n\
         snapshot = \"file:../online/snapshot.pem\"\n\
         timestamp = \"{timestamp}\"\n\
         generate_development_keys = false"
    )
}

/// python-tuf's `Updater` accepts the repository and trusts root `version`: one client that keeps
/// its trusted metadata from run to run, and one that starts from v1.
fn python_accepts(root_v1: &Path, daemon: &Daemon, state: &Path, version: u64) {
    let url = format!("{}/", daemon.url());
    let (root, state) = (root_v1.as_os_str(), state.as_os_str());
    let kept =
        tuf_interop([OsStr::new("--root"), root, OsStr::new("--url"), OsStr::new(&url), OsStr::new("--state"), state])
            .ok();
    let fresh = tuf_interop([OsStr::new("--root"), root, OsStr::new("--url"), OsStr::new(&url)]).ok();
    for out in [kept, fresh] {
        assert!(out.contains(&format!("trusted root v{version},")), "python-tuf trusts root v{version}: {out}");
    }
}

fn signers_of(metadata: &[u8]) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_slice(metadata).expect("metadata is JSON");
    let signatures = value["signatures"].as_array().expect("signatures");
    signatures.iter().map(|s| s["keyid"].as_str().expect("keyid").to_owned()).collect()
}

#[test]
fn clients_follow_rotations_and_refuse_retired_keys() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let key = |path: &str| -> PublicKey {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("key dir");
        generate_key_file(&path, KeyAlgorithm::Ed25519).expect("generate key")
    };
    let holders: Vec<PublicKey> = ["a", "b", "c", "d"].iter().map(|h| key(&format!("holders/{h}.pem"))).collect();
    let old_timestamp = key("online/timestamp.pem");
    key("online/targets.pem");
    key("online/snapshot.pem");
    let hsm = SoftHsm::new(&dir.join("hsm"), "rotation");
    let hsm_timestamp = hsm.keypair("EC:edwards25519", "timestamp-2", "02");
    let ceremony = Ceremony { dir: dir.to_owned(), env: hsm.env() };
    fs::create_dir_all(dir.join("daemon/roots")).expect("roots dir");

    // v1: A, B, C hold root, 2-of-3; the online keys are files.
    ceremony.ok(&[
        "root",
        "init",
        "--out",
        "p1.json",
        "--root-key",
        "file:holders/a.pem",
        "--root-key",
        "file:holders/b.pem",
        "--root-key",
        "file:holders/c.pem",
        "--root-threshold",
        "2",
        "--targets-key",
        "file:online/targets.pem",
        "--snapshot-key",
        "file:online/snapshot.pem",
        "--timestamp-key",
        "file:online/timestamp.pem",
    ]);
    ceremony.sign("p1.json", &["a", "b"]);
    ceremony.ok(&["root", "publish", "p1.json", "--roots", "daemon/roots"]);
    let root_v1 = dir.join("trusted-v1.root.json");
    fs::copy(dir.join("daemon/roots/1.root.json"), &root_v1).expect("keep root v1");

    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    upstream.load_index_dir(&common::fixture_index()).expect("fixture index");
    let mut config = DaemonConfig::new(&upstream.url());
    config.keys = Some(keys_section("file:../online/timestamp.pem"));
    config.env = hsm.env();
    let mut daemon = Daemon::start(&dir.join("daemon"), &config);
    for path in ["se/rd/serde", "3/s/syn", "to/ki/tokio"] {
        assert_eq!(daemon.get(&format!("/index/{path}")).status, 200, "{path}");
    }
    let mut client = Client::new(&dir.join("client"), &fs::read(&root_v1).expect("root v1"));
    let pystate = dir.join("python-client");
    let v1 = client.follow(&rt, &daemon);
    assert_eq!(v1.root.version, 1);
    python_accepts(&root_v1, &daemon, &pystate, 1);

    // v2: the timestamp key moves onto the HSM.
    let rotated = ceremony.ok(&[
        "keys",
        "rotate",
        "--role",
        "timestamp",
        "--new",
        &hsm_timestamp,
        "--roots",
        "daemon/roots",
        "--out",
        "p2.json",
    ]);
    assert!(rotated.contains("timestamp"), "keys rotate says what it did: {rotated}");
    ceremony.sign("p2.json", &["a", "b"]);
    // The daemon's configuration still names the old key: the daemon refuses the root, and
    // nothing is published (clients would otherwise get a root whose timestamp key cannot sign).
    let refused = ceremony.refused(&["root", "publish", "p2.json", "--config", "daemon/tufmirror.toml"]);
    assert!(refused.contains("keys.timestamp"), "the refusal names the configuration key: {refused}");
    assert!(!dir.join("daemon/roots/2.root.json").exists());
    assert_eq!(daemon.get("/tuf/2.root.json").status, 404);

    config.keys = Some(keys_section(&hsm_timestamp));
    config.write(&dir.join("daemon"), daemon.addr.port());
    let answer = ceremony.ok(&["root", "publish", "p2.json", "--config", "daemon/tufmirror.toml"]);
    assert!(answer.contains("\"root_version\":2") || answer.contains("root version 2"), "{answer}");
    let hsm_key_id = client_key_id(&fs::read(dir.join("daemon/roots/2.root.json")).expect("2.root.json"));
    let v2 = client.follow(&rt, &daemon);
    assert_eq!(v2.root.version, 2);
    assert!(v2.version > v1.version, "a new snapshot signed by the new keys");
    let timestamp = get_ok(daemon.addr, "/tuf/timestamp.json");
    assert_eq!(signers_of(&timestamp), vec![hsm_key_id.clone()], "the timestamp is signed by the HSM key alone");
    let metrics = String::from_utf8_lossy(&daemon.get("/metrics").body).into_owned();
    for line in ["tufmirror_root_version 2".to_owned(), format!("tufmirror_snapshot_version {}", v2.version)] {
        assert!(metrics.lines().any(|l| l == line), "/metrics has {line:?}:\n{metrics}");
    }
    python_accepts(&root_v1, &daemon, &pystate, 2);

    // A timestamp signed by the retired key, newer than the served one, is refused.
    let (current, _) = parse_unverified::<Timestamp>(&timestamp).expect("timestamp parses");
    let mut forged = current.signed.clone();
    forged.version += 1;
    let old_signer = FileSigner::open(&dir.join("online/timestamp.pem")).expect("old timestamp key");
    let forged = rt.block_on(sign_metadata(forged, &[&old_signer])).expect("sign").to_bytes().expect("bytes");
    let (parsed, signed_bytes) = parse_unverified::<Timestamp>(&forged).expect("forged parses");
    let verdict = RoleVerifier::from_root(&client.root, Role::Timestamp)
        .expect("timestamp role")
        .verify(&signed_bytes, &parsed.signatures);
    assert!(
        matches!(verdict, Err(VerifyError::Threshold { role: Role::Timestamp, valid: 0, threshold: 1 })),
        "our client refuses the retired key {}: {verdict:?}",
        old_timestamp.key_id()
    );
    let hostile = hostile_copy(&daemon, dir, &forged, v2.version, &v2);
    let state_copy = dir.join("python-client-copy");
    common::copy_dir(&pystate, &state_copy);
    tuf_interop([
        OsStr::new("--root"),
        root_v1.as_os_str(),
        OsStr::new("--out"),
        hostile.as_os_str(),
        OsStr::new("--state"),
        state_copy.as_os_str(),
        OsStr::new("--expect-failure"),
        OsStr::new("--expect-error"),
        OsStr::new("UnsignedMetadataError"),
    ])
    .ok();

    // v3: root key C is replaced by D, still 2-of-3.
    let c_id = holders[2].key_id().to_string();
    ceremony.ok(&[
        "root",
        "edit",
        "p3.json",
        "--roots",
        "daemon/roots",
        "--remove-key",
        &format!("root={}", &c_id[..12]),
        "--add-key",
        "root=file:holders/d.pem",
    ]);
    ceremony.sign("p3.json", &["c", "a"]);
    // The removed key plus one kept key: v2's threshold is met, v3's own is not.
    fs::copy(dir.join("p3.json"), dir.join("p3-bad.json")).expect("copy");
    let refused = ceremony.refused(&["root", "publish", "p3-bad.json", "--config", "daemon/tufmirror.toml"]);
    assert!(refused.contains("threshold"), "the refusal says which threshold is missing: {refused}");
    assert!(!dir.join("daemon/roots/3.root.json").exists());
    let bad = fs::read(dir.join("p3-bad.json")).expect("p3-bad");
    let verdict = verify_root_update(&client.root, &bad);
    assert!(
        matches!(verdict, Err(VerifyError::Threshold { role: Role::Root, .. })),
        "our client refuses it too, for the missing threshold: {verdict:?}"
    );

    ceremony.sign("p3.json", &["d"]);
    ceremony.ok(&["root", "publish", "p3.json", "--config", "daemon/tufmirror.toml"]);
    let v3 = client.follow(&rt, &daemon);
    assert_eq!(v3.root.version, 3);
    let root_keys = &v3.root.roles["root"];
    assert_eq!(root_keys.threshold, 2);
    let expected: Vec<_> = [0, 1, 3].iter().map(|&i| holders[i].key_id()).collect();
    let mut listed = root_keys.keyids.clone();
    listed.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(listed, expected, "v3's root keys are A, B and D");
    python_accepts(&root_v1, &daemon, &pystate, 3);

    // The daemon started with the retired timestamp key refuses, naming both keys.
    assert!(daemon.stop().success());
    config.keys = Some(keys_section("file:../online/timestamp.pem"));
    config.write(&dir.join("daemon"), daemon.addr.port());
    let out = tufmirror_command(&dir.join("daemon"), &["serve", "--config", "tufmirror.toml"])
        .envs(hsm.env())
        .output()
        .expect("run serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the daemon started with a key root does not list:\n{stderr}");
    assert!(stderr.contains("keys.timestamp"), "names the configuration key: {stderr}");
    assert!(stderr.contains(&old_timestamp.key_id().to_string()), "names the configured key: {stderr}");
    assert!(stderr.contains(&hsm_key_id[..8]), "names the key root lists: {stderr}");
    drop(upstream);
}

/// The timestamp key id that `root` lists.
fn client_key_id(root: &[u8]) -> String {
    let (root, _) = parse_unverified::<Root>(root).expect("root parses");
    root.signed.roles["timestamp"].keyids[0].to_string()
}

/// A static copy of what the daemon serves for `snapshot`, with `timestamp` in place of the real
/// timestamp: a mirror that got hold of the retired key.
fn hostile_copy(daemon: &Daemon, dir: &Path, timestamp: &[u8], snapshot: u64, verified: &VerifiedSnapshot) -> PathBuf {
    let out = dir.join("hostile");
    fs::create_dir_all(out.join("tuf")).expect("hostile/tuf");
    fs::create_dir_all(out.join("index")).expect("hostile/index");
    for v in 1..=verified.root.version {
        let name = format!("{v}.root.json");
        fs::write(out.join("tuf").join(&name), get_ok(daemon.addr, &format!("/tuf/{name}"))).expect("root");
    }
    let targets = verified.targets.version;
    for name in [format!("{snapshot}.snapshot.json"), format!("{targets}.targets.json")] {
        fs::write(out.join("tuf").join(&name), get_ok(daemon.addr, &format!("/tuf/{name}"))).expect("metadata");
    }
    fs::write(out.join("tuf/timestamp.json"), timestamp).expect("timestamp");
    let config = get_ok(daemon.addr, "/index/config.json");
    let hash = tufmirror_core::Sha256Hash::of(&config).to_hex();
    fs::write(out.join("index").join(format!("{hash}.config.json")), &config).expect("config");
    fs::write(out.join("index/config.json"), &config).expect("config");
    out
}

/// A root published while no daemon runs (`root publish` writes it into `keys.root_dir` and warns
/// that the configured key is not the one it lists) is signed for when the daemon starts with the
/// new key: targets, snapshot and timestamp are re-signed before anything is served.
#[test]
fn a_root_published_while_the_daemon_is_stopped_is_signed_for_at_start() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("daemon");
    let upstream = rt.block_on(FakeUpstream::start()).expect("upstream");
    upstream.load_index_dir(&common::fixture_index()).expect("fixture index");
    let mut config = DaemonConfig::new(&upstream.url());
    let mut daemon = Daemon::start(&dir, &config);
    assert_eq!(daemon.get("/index/se/rd/serde").status, 200);
    let before = verify_daemon(daemon.addr);
    let root1 = get_ok(daemon.addr, "/tuf/1.root.json");
    assert!(daemon.stop().success());

    let new_key = generate_key_file(&dir.join("new-timestamp.pem"), KeyAlgorithm::Ed25519).expect("new key");
    let ceremony = Ceremony { dir: dir.clone(), env: Vec::new() };
    let args = ["keys", "rotate", "--role", "timestamp", "--new", "file:new-timestamp.pem"];
    ceremony.ok(&[&args[..], &["--config", "tufmirror.toml", "--out", "p2.json"]].concat());
    ceremony.ok(&["root", "sign", "p2.json", "--roots", "data/keys", "--key", "file:data/keys/root.pem"]);
    let published = ceremony.ok(&["root", "publish", "p2.json", "--config", "tufmirror.toml"]);
    assert!(dir.join("data/keys/2.root.json").is_file(), "written into keys.root_dir: {published}");
    assert!(published.contains("keys.timestamp"), "warns that the configured key is not the new one: {published}");

    // Still configured with the retired key: refused, and nothing is signed with it.
    let out = tufmirror_command(&dir, &["serve", "--config", "tufmirror.toml"]).output().expect("serve");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(new_key.key_id().short()));

    config.keys = Some(
        "root_dir = \"data/keys\"\n\
         targets = \"file:data/keys/targets.pem\"\n\
         snapshot = \"file:data/keys/snapshot.pem\"\n\
         timestamp = \"file:new-timestamp.pem\""
            .to_owned(),
    );
    config.write(&dir, daemon.addr.port());
    daemon.restart();
    // The root a client was configured with is the same root 1: the restart rotated the
    // timestamp key through root 2, and kept the others.
    assert_eq!(get_ok(daemon.addr, "/tuf/1.root.json"), root1, "root 1 is unchanged by the restart");
    let after = verify_daemon(daemon.addr);
    assert_eq!(after.root.version, 2);
    for role in ["targets", "snapshot"] {
        assert_eq!(after.root.roles[role].keyids, before.root.roles[role].keyids, "{role} keys kept");
    }
    assert!(after.version > before.version, "a snapshot signed under root 2");
    assert_eq!(after.files, before.files, "the same index files, re-signed");
    let timestamp = get_ok(daemon.addr, "/tuf/timestamp.json");
    assert_eq!(signers_of(&timestamp), vec![new_key.key_id().to_string()]);
}
