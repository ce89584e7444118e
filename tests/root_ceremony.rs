//! Root ceremonies through the real binary: `tufmirror root init|edit|sign|status|publish` and
//! `tufmirror keys rotate`, with each key holder's key in a folder of its own.
//!
//! - a 2-of-3 root v1: the status counts verified signatures, publish names the missing
//!   threshold and writes nothing until it is met, and the chain verifies;
//! - v2 replacing a root key needs a threshold of the old root keys *and* of the new ones;
//! - `keys rotate` of the timestamp key, and `root sign` refusing keys outside both roots;
//! - `root publish --config` warning about online keys the new root does not list, and handing
//!   the root to a running daemon (a stand-in that answers like one) without writing anything;
//! - python-tuf's `Updater` walking 1.root.json -> 2.root.json -> 3.root.json of a ceremony.

mod common;

use common::ceremony::{Holder, ok, read_root, refused, s, status_json};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use tufmirror_core::KeyId;
use tufmirror_repo::keys::{read_root_files, verify_root_chain};

/// Three root key holders, the online keys, and a root chain folder, in one temporary folder.
struct Setup {
    tmp: tempfile::TempDir,
    root: Vec<Holder>,
    targets: Holder,
    snapshot: Holder,
    timestamp: Holder,
    roots: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = ["alice", "bob", "carol"].iter().map(|h| Holder::new(tmp.path(), h)).collect();
        let targets = Holder::new(tmp.path(), "targets");
        let snapshot = Holder::new(tmp.path(), "snapshot");
        let timestamp = Holder::new(tmp.path(), "timestamp");
        let roots = tmp.path().join("roots");
        Setup { tmp, root, targets, snapshot, timestamp, roots }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// `root init` of a 2-of-3 root v1. Alice hands over a key URI, Bob only a PEM public key,
    /// Carol a bare path.
    fn init(&self, proposal: &Path) -> String {
        ok(&[
            "root",
            "init",
            "--out",
            s(proposal),
            "--root-key",
            &self.root[0].uri(),
            "--root-key",
            s(&self.root[1].public),
            "--root-key",
            s(&self.root[2].key),
            "--root-threshold",
            "2",
            "--targets-key",
            s(&self.targets.public),
            "--snapshot-key",
            &self.snapshot.uri(),
            "--timestamp-key",
            &self.timestamp.uri(),
        ])
        .0
    }

    fn sign(&self, proposal: &Path, holder: &Holder) -> String {
        ok(&["root", "sign", s(proposal), "--roots", s(&self.roots), "--key", &holder.uri()]).0
    }

    /// Root v1, signed by Alice and Bob, published into `roots`.
    fn published_v1(&self) {
        let p1 = self.path("p1.json");
        self.init(&p1);
        self.sign(&p1, &self.root[0]);
        self.sign(&p1, &self.root[1]);
        ok(&["root", "publish", s(&p1), "--roots", s(&self.roots)]);
    }

    fn chain_versions(&self) -> Vec<u64> {
        let chain = verify_root_chain(None, read_root_files(&self.roots).expect("read roots")).expect("chain verifies");
        chain.iter().map(|r| r.root.signed.version).collect()
    }
}

fn ids(value: &serde_json::Value) -> Vec<String> {
    value.as_array().expect("array").iter().map(|v| v.as_str().expect("string").to_owned()).collect()
}

fn id_strings(holders: &[&Holder]) -> Vec<String> {
    holders.iter().map(|h| h.id.0.clone()).collect()
}

#[test]
fn two_of_three_root_is_signed_and_published() {
    let t = Setup::new();
    let p1 = t.path("p1.json");
    let out = t.init(&p1);
    assert!(out.contains("threshold 2 of 3"), "{out}");
    let proposal = read_root(&p1);
    assert_eq!((proposal.signed.version, proposal.signed.consistent_snapshot), (1, true));
    assert_eq!(proposal.signed.roles["root"].keyids, t.root.iter().map(|h| h.id.clone()).collect::<Vec<_>>());
    assert!(proposal.signatures.is_empty());
    let other = refused(&[
        "root",
        "init",
        "--out",
        s(&p1),
        "--root-key",
        s(&t.root[0].public),
        "--targets-key",
        "x",
        "--snapshot-key",
        "x",
        "--timestamp-key",
        "x",
    ]);
    assert!(other.contains("exists"), "an existing proposal is never overwritten: {other}");

    let st = status_json(&p1, None);
    assert_eq!((st["new_root"]["threshold"].as_u64(), st["new_root"]["missing"].as_u64()), (Some(2), Some(2)));
    assert_eq!(ids(&st["new_root"]["signed"]), Vec::<String>::new());
    assert_eq!(st["ready_to_publish"], false);
    let text = ok(&["root", "status", s(&p1)]).0;
    assert!(text.contains("0 of 2 required signatures"), "{text}");

    let out = t.sign(&p1, &t.root[0]);
    assert!(out.contains(&format!("signed root version 1 with key {}", t.root[0].id)), "{out}");
    let st = status_json(&p1, None);
    assert_eq!(ids(&st["new_root"]["signed"]), id_strings(&[&t.root[0]]));
    assert_eq!(st["new_root"]["missing"].as_u64(), Some(1));
    let text = ok(&["root", "status", s(&p1)]).0;
    assert!(text.contains("1 of 2 required signatures, 1 more needed"), "{text}");

    // Signing again replaces the signature.
    let out = t.sign(&p1, &t.root[0]);
    assert!(out.contains("re-signed"), "{out}");
    assert_eq!(read_root(&p1).signatures.len(), 1);

    let err = refused(&["root", "publish", s(&p1), "--roots", s(&t.roots)]);
    assert!(err.contains("1 valid signature(s), threshold 2, 1 more needed"), "names the missing threshold: {err}");
    assert!(err.contains(&t.root[1].id.0) && err.contains(&t.root[2].id.0), "names who can still sign: {err}");
    assert!(!t.roots.join("1.root.json").exists(), "a refused publish writes nothing");

    t.sign(&p1, &t.root[2]);
    assert_eq!(status_json(&p1, None)["ready_to_publish"], true);
    let out = ok(&["root", "publish", s(&p1), "--roots", s(&t.roots)]).0;
    assert!(out.contains("published root version 1"), "{out}");
    assert_eq!(t.chain_versions(), vec![1]);
    let chain = verify_root_chain(None, read_root_files(&t.roots).expect("read")).expect("verifies");
    assert_eq!(chain[0].root.signed.roles["root"].threshold, 2);

    // Published once: never again, never overwritten.
    let before = std::fs::read(t.roots.join("1.root.json")).expect("1.root.json");
    let err = refused(&["root", "publish", s(&p1), "--roots", s(&t.roots)]);
    assert!(err.contains("only version 2 can follow it"), "{err}");
    assert_eq!(std::fs::read(t.roots.join("1.root.json")).expect("1.root.json"), before);

    // A root key may not be online, and a threshold must be reachable.
    let bad = t.path("bad.json");
    let (a, b, targets, snapshot, timestamp) =
        (t.root[0].uri(), t.root[1].uri(), t.targets.uri(), t.snapshot.uri(), t.timestamp.uri());
    let base = ["root", "init", "--out", s(&bad), "--root-key", &a, "--root-key", &b];
    let online = ["--targets-key", &targets, "--snapshot-key", &snapshot];
    let err = refused(&[&base[..], &online[..], &["--timestamp-key", &b]].concat());
    assert!(err.contains("root keys stay offline"), "{err}");
    let err = refused(&[&base[..], &online[..], &["--timestamp-key", &timestamp, "--root-threshold", "3"]].concat());
    assert!(err.contains("threshold 3 but 2 key(s)"), "{err}");
    assert!(!bad.exists());
}

#[test]
fn replacing_a_root_key_needs_both_thresholds() {
    let t = Setup::new();
    t.published_v1();
    let (alice, bob, carol) = (&t.root[0], &t.root[1], &t.root[2]);
    let dave = Holder::new(t.tmp.path(), "dave");
    let erin = Holder::new(t.tmp.path(), "erin");

    // v2: Carol leaves, Dave joins: 2-of-3 of Alice, Bob, Dave.
    let p2 = t.path("p2.json");
    let out = ok(&[
        "root",
        "edit",
        s(&p2),
        "--roots",
        s(&t.roots),
        "--remove-key",
        &format!("root={}", &carol.id.0[..10]),
        "--add-key",
        &format!("root={}", s(&dave.public)),
    ])
    .0;
    assert!(out.contains("root version 2 (following version 1)"), "{out}");
    let v2 = read_root(&p2).signed;
    assert_eq!(v2.roles["root"].keyids, vec![alice.id.clone(), bob.id.clone(), dave.id.clone()]);
    assert!(!v2.keys.contains_key(&carol.id), "a key no role uses leaves `keys`");

    // Edits that break the rules are refused and change nothing.
    let before = std::fs::read(&p2).expect("p2");
    for (edit, expected) in [
        (format!("--add-key=timestamp={}", s(&alice.public)), "root keys stay offline"),
        ("--set-threshold=root=4".to_owned(), "threshold 4 but 3 key(s)"),
        (format!("--remove-key=timestamp={}", &t.timestamp.id.0[..8]), "lists no key"),
        ("--remove-key=root=ff00ff00ff".to_owned(), "no key of the root role"),
    ] {
        let err = refused(&["root", "edit", s(&p2), &edit]);
        assert!(err.contains(expected), "{edit}: {err}");
    }
    assert_eq!(std::fs::read(&p2).expect("p2"), before);

    // Signing needs the previous root; a key of neither root is refused.
    let err = refused(&["root", "sign", s(&p2), "--key", &alice.uri()]);
    assert!(err.contains("--roots"), "{err}");
    let err = refused(&["root", "sign", s(&p2), "--roots", s(&t.roots), "--key", &erin.uri()]);
    assert!(
        err.contains("is not a root key of the proposed root version 2 nor of the previous root version 1"),
        "{err}"
    );

    // Editing a signed proposal drops its signatures, and says so.
    t.sign(&p2, &dave);
    let (_, stderr) = ok(&["root", "edit", s(&p2), "--set-expiry-days", "200"]);
    assert!(stderr.contains("signature(s) collected so far were dropped"), "{stderr}");
    assert!(read_root(&p2).signatures.is_empty());

    // Only new keys (Dave and, in a copy with a 2-of-4 root, Erin): v1's threshold is not met.
    let only_new = t.path("only-new.json");
    ok(&[
        "root",
        "edit",
        s(&only_new),
        "--roots",
        s(&t.roots),
        "--remove-key",
        &format!("root={}", carol.id),
        "--add-key",
        &format!("root={}", dave.uri()),
        "--add-key",
        &format!("root={}", erin.uri()),
    ]);
    t.sign(&only_new, &dave);
    t.sign(&only_new, &erin);
    let st = status_json(&only_new, Some(&t.roots));
    assert_eq!(st["new_root"]["missing"].as_u64(), Some(0));
    assert_eq!(st["previous_root"]["missing"].as_u64(), Some(2));
    assert_eq!(st["previous_root"]["root_version"].as_u64(), Some(1));
    let err = refused(&["root", "publish", s(&only_new), "--roots", s(&t.roots)]);
    assert!(err.contains("not signed by enough root keys of the previous root (version 1)"), "{err}");
    assert!(err.contains("0 valid signature(s), threshold 2, 2 more needed"), "{err}");

    // The removed key plus one kept key: v1's threshold is met, v2's own is not.
    let out = t.sign(&p2, carol);
    assert!(out.contains("only: it counts toward that root's threshold"), "{out}");
    t.sign(&p2, alice);
    let st = status_json(&p2, Some(&t.roots));
    assert_eq!(ids(&st["previous_root"]["signed"]), id_strings(&[alice, carol]));
    assert_eq!(ids(&st["new_root"]["signed"]), id_strings(&[alice]));
    assert_eq!(st["ready_to_publish"], false);
    let err = refused(&["root", "publish", s(&p2), "--roots", s(&t.roots)]);
    assert!(err.contains("not signed by enough root keys of the proposal itself (version 2)"), "{err}");
    assert!(err.contains(&bob.id.0) && err.contains(&dave.id.0), "{err}");
    assert!(!t.roots.join("2.root.json").exists());

    // Enough of both.
    t.sign(&p2, &dave);
    assert_eq!(status_json(&p2, Some(&t.roots))["ready_to_publish"], true);
    ok(&["root", "publish", s(&p2), "--roots", s(&t.roots)]);
    assert_eq!(t.chain_versions(), vec![1, 2]);

    // Carol's key no longer signs anything: v3 has no place for it.
    let p3 = t.path("p3.json");
    ok(&["root", "edit", s(&p3), "--roots", s(&t.roots), "--set-expiry-days", "30"]);
    let err = refused(&["root", "sign", s(&p3), "--roots", s(&t.roots), "--key", &carol.uri()]);
    assert!(err.contains("not a root key"), "{err}");
}

/// `keys generate` development keys: root.pem, the online keys and 1.root.json.
fn dev_keys(dir: &Path) -> PathBuf {
    let keys = dir.join("keys");
    ok(&["keys", "generate", "--out", s(&keys)]);
    keys
}

/// Development keys in `dir/keys`, and the key URI of their timestamp key.
fn dev_keys_and_timestamp_uri(dir: &Path) -> (PathBuf, String) {
    let keys = dev_keys(dir);
    let timestamp = format!("file:{}", keys.join("timestamp.pem").display());
    (keys, timestamp)
}

fn key_id_of(path: &Path) -> KeyId {
    tufmirror_signer::FileSigner::open(path).map(|k| tufmirror_signer::Signer::key_id(&k)).expect("key")
}

#[test]
fn rotating_the_timestamp_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keys = dev_keys(tmp.path());
    let new = Holder::new(tmp.path(), "new-timestamp");
    let stranger = Holder::new(tmp.path(), "stranger");
    let p2 = tmp.path().join("p2.json");
    let root_key = format!("file:{}", keys.join("root.pem").display());

    // The new key may not be a root key, nor one the role lists already.
    let rotate = |new_key: &str, role: &str, out: &Path| -> Vec<String> {
        ["keys", "rotate", "--role", role, "--new", new_key, "--roots", s(&keys), "--out", s(out)]
            .iter()
            .map(|a| a.to_string())
            .collect()
    };
    let err = refused(&rotate(&root_key, "timestamp", &p2));
    assert!(err.contains("root keys stay offline"), "{err}");
    let err = refused(&rotate(s(&keys.join("targets.pem")), "targets", &p2));
    assert!(err.contains("already lists key"), "{err}");
    assert!(!p2.exists());

    let out = ok(&rotate(&new.uri(), "timestamp", &p2)).0;
    let old_id = key_id_of(&keys.join("timestamp.pem"));
    assert!(out.contains(&format!("timestamp: removes key {old_id}")), "{out}");
    assert!(out.contains(&format!("timestamp: adds key {}", new.id)), "{out}");
    assert!(out.contains("keys.timestamp") && out.contains("tufmirror root publish"), "next steps: {out}");
    let v1 = read_root(&keys.join("1.root.json")).signed;
    let v2 = read_root(&p2).signed;
    assert_eq!(v2.version, 2);
    assert_eq!(v2.roles["timestamp"].keyids, vec![new.id.clone()], "the timestamp role lists only the new key");
    assert_eq!(v2.roles["timestamp"].threshold, 1);
    for role in ["root", "targets", "snapshot"] {
        assert_eq!(v2.roles[role], v1.roles[role], "{role} is unchanged");
    }
    assert!(!v2.keys.contains_key(&old_id));

    for (who, uri) in [
        ("a stranger", stranger.uri()),
        ("the retiring timestamp key", format!("file:{}", keys.join("timestamp.pem").display())),
    ] {
        let err = refused(&["root", "sign", s(&p2), "--roots", s(&keys), "--key", &uri]);
        assert!(err.contains("not a root key"), "{who}: {err}");
    }
    assert!(read_root(&p2).signatures.is_empty());

    ok(&["root", "sign", s(&p2), "--roots", s(&keys), "--key", &root_key]);
    let out = ok(&["root", "publish", s(&p2), "--roots", s(&keys)]).0;
    assert!(out.contains("published root version 2"), "{out}");
    let chain = verify_root_chain(None, read_root_files(&keys).expect("read")).expect("chain verifies");
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1].root.signed.roles["timestamp"].keyids, vec![new.id.clone()]);
}

/// A configuration whose keys are the development keys in `keys`, with a data folder beside it.
fn write_config(dir: &Path, keys: &Path, timestamp: &str, listen: &str) -> PathBuf {
    let path = dir.join("tufmirror.toml");
    let text = format!(
        "[server]\nlisten = \"{listen}\"\n[storage]\ndata_dir = \"data\"\n[keys]\nroot_dir = \"{}\"\n\
         targets = \"file:{}\"\nsnapshot = \"file:{}\"\ntimestamp = \"{timestamp}\"\ngenerate_development_keys = false\n",
        keys.display(),
        keys.join("targets.pem").display(),
        keys.join("snapshot.pem").display(),
    );
    std::fs::write(&path, text).expect("config");
    path
}

/// A fully signed v2 proposal that moves the timestamp role to a new key.
fn signed_rotation(dir: &Path, keys: &Path, config: &Path) -> (PathBuf, Holder) {
    let new = Holder::new(dir, "new-timestamp");
    let p2 = dir.join("p2.json");
    ok(&["keys", "rotate", "--role", "timestamp", "--new", &new.uri(), "--config", s(config), "--out", s(&p2)]);
    ok(&["root", "sign", s(&p2), "--roots", s(keys), "--key", &format!("file:{}", keys.join("root.pem").display())]);
    (p2, new)
}

#[test]
fn publish_with_a_config_warns_about_online_keys_the_new_root_does_not_list() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (keys, old) = dev_keys_and_timestamp_uri(tmp.path());
    let config = write_config(tmp.path(), &keys, &old, "127.0.0.1:9");
    let (p2, new) = signed_rotation(tmp.path(), &keys, &config);

    // Without --roots: keys.root_dir of the configuration.
    let (stdout, stderr) = ok(&["root", "publish", s(&p2), "--config", s(&config)]);
    assert!(stdout.contains("published root version 2"), "{stdout}");
    assert!(keys.join("2.root.json").exists());
    assert!(stderr.contains("warning: the daemon will refuse to start"), "{stderr}");
    assert!(stderr.contains("keys.timestamp"), "names the configuration key: {stderr}");
    let old_id = key_id_of(&keys.join("timestamp.pem"));
    assert!(stderr.contains(&old_id.0) && stderr.contains(&new.id.0), "names both keys: {stderr}");
    assert!(!stderr.contains("keys.targets") && !stderr.contains("keys.snapshot"), "{stderr}");

    // With the configuration already pointing at the new key there is nothing to warn about.
    let tmp2 = tempfile::tempdir().expect("tempdir");
    let keys2 = dev_keys(tmp2.path());
    // Relative to the configuration's folder: where signed_rotation puts the new key.
    let config2 = write_config(tmp2.path(), &keys2, "file:new-timestamp/key.pem", "127.0.0.1:9");
    let (p2, _) = signed_rotation(tmp2.path(), &keys2, &config2);
    let (stdout, stderr) = ok(&["root", "publish", s(&p2), "--config", s(&config2)]);
    assert!(stdout.contains("match root version 2"), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

/// A stand-in for the daemon's `/admin/root`: answers one request with `status` and `body`, and
/// hands back what it received.
fn fake_daemon(status: &'static str, body: &'static str) -> (String, std::thread::JoinHandle<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("length");
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut received = vec![0; length];
        reader.read_exact(&mut received).expect("body");
        let response =
            format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        reader.get_mut().write_all(response.as_bytes()).expect("answer");
        (head, received)
    });
    (addr, handle)
}

#[test]
fn publish_hands_the_root_to_a_running_daemon() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (keys, old) = dev_keys_and_timestamp_uri(tmp.path());
    // The "daemon": the data folder's lock is held and an admin token is there.
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    std::fs::write(data.join("admin.token"), "sekrit\n").expect("token");
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(data.join(".lock"));
    let lock = lock.expect("lock file");
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).expect("flock");

    let (addr, daemon) = fake_daemon("409 Conflict", "keys.timestamp is not listed by root version 2");
    let config = write_config(tmp.path(), &keys, &old, &addr);
    let (p2, _) = signed_rotation(tmp.path(), &keys, &config);
    let err = refused(&["root", "publish", s(&p2), "--config", s(&config)]);
    assert!(err.contains("keys.timestamp is not listed by root version 2"), "prints the daemon's reason: {err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!keys.join("2.root.json").exists());
    let (head, received) = daemon.join().expect("daemon");
    assert!(head.starts_with("POST /admin/root "), "{head}");
    assert!(head.to_ascii_lowercase().contains("authorization: bearer sekrit"), "{head}");
    let v1 = read_root(&keys.join("1.root.json")).signed;
    let handed = tufmirror_core::verify::verify_root_update(&v1, &received).expect("the daemon gets a verifying root");
    assert_eq!(handed.signed.version, 2);

    let (addr, daemon) = fake_daemon("200 OK", "root version 2 published; snapshot 7 signed with the new keys");
    let config = write_config(tmp.path(), &keys, &old, &addr);
    let out = ok(&["root", "publish", s(&p2), "--config", s(&config)]).0;
    assert!(out.contains("the daemon answered: root version 2 published; snapshot 7"), "{out}");
    assert!(!keys.join("2.root.json").exists(), "the daemon writes the root, not the command");
    daemon.join().expect("daemon");

    // A proposal short of a threshold never reaches the daemon.
    let short = tmp.path().join("short.json");
    ok(&["root", "edit", s(&short), "--roots", s(&keys), "--set-expiry-days", "10"]);
    let err = refused(&["root", "publish", s(&short), "--config", s(&config)]);
    assert!(err.contains("threshold"), "{err}");
    drop(lock);
}

/// python-tuf's `Updater`, bootstrapped from 1.root.json, walks a ceremony's chain to 3.root.json:
/// v2 replaces both the timestamp key and the root key (signed by the old and the new root key),
/// v3 only extends the expiry (signed by the new root key alone).
#[test]
fn python_tuf_walks_the_ceremony_chain() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let keys = dev_keys(tmp.path());
    let new_timestamp = Holder::new(tmp.path(), "new-timestamp");
    let new_root = Holder::new(tmp.path(), "new-root");
    let old_root = format!("file:{}", keys.join("root.pem").display());
    let old_root_id = key_id_of(&keys.join("root.pem"));

    let p2 = tmp.path().join("p2.json");
    ok(&["keys", "rotate", "--role", "timestamp", "--new", &new_timestamp.uri(), "--roots", s(&keys), "--out", s(&p2)]);
    ok(&[
        "root",
        "edit",
        s(&p2),
        "--add-key",
        &format!("root={}", s(&new_root.public)),
        "--remove-key",
        &format!("root={}", old_root_id.short()),
    ]);
    for key in [&old_root, &new_root.uri()] {
        ok(&["root", "sign", s(&p2), "--roots", s(&keys), "--key", key]);
    }
    ok(&["root", "publish", s(&p2), "--roots", s(&keys)]);
    let p3 = tmp.path().join("p3.json");
    ok(&["root", "edit", s(&p3), "--roots", s(&keys), "--set-expiry-days", "200"]);
    ok(&["root", "sign", s(&p3), "--roots", s(&keys), "--key", &new_root.uri()]);
    ok(&["root", "publish", s(&p3), "--roots", s(&keys)]);

    // `tufmirror publish --keys DIR` signs with DIR/timestamp.pem: the new key goes there.
    std::fs::copy(&new_timestamp.key, keys.join("timestamp.pem")).expect("new timestamp key");
    let out = tmp.path().join("out");
    common::publish_ok(&common::fixture_index(), &keys, &out);
    for v in 1..=3 {
        assert!(out.join(format!("tuf/{v}.root.json")).exists(), "root {v} is served");
    }
    let stdout = common::python::tuf_interop([
        OsStr::new("--root"),
        keys.join("1.root.json").as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ])
    .ok();
    assert!(stdout.contains("trusted root v3"), "python-tuf followed the chain to v3: {stdout}");
}
