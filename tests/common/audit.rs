//! Helpers for the auditor's tests: a mirror published with `tufmirror publish` and served by
//! `tufmirror serve-static`, whose root (version 2) declares an auditor key; index edits that make
//! the next snapshot; a hostile mirror's re-signing with the development keys (which a mirror that
//! holds its online keys can do); and `tufmirror audit` run as a command.

use super::{Server, bin, generate_keys, publish_ok};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tufmirror_core::metadata::{MetaFile, Metadata, Signed, Snapshot, Targets, Timestamp};
use tufmirror_core::verify::parse_unverified;
use tufmirror_signer::{FileSigner, KeyAlgorithm, Signer, generate_key_file, sign_metadata};

/// A published mirror and the files around it. See the module documentation.
pub(crate) struct Mirror {
    pub tmp: tempfile::TempDir,
    pub keys: PathBuf,
    pub index: PathBuf,
    pub out: PathBuf,
    /// The auditor key that root version 2 declares.
    pub auditor_key: PathBuf,
    pub server: Server,
}

/// `tufmirror ARGS` (run in `dir`), which must succeed.
fn ok_in(dir: &Path, args: &[&str]) -> String {
    let out = super::output(Command::new(bin()).args(args).current_dir(dir).env("RUST_LOG", "warn"));
    assert!(out.status.success(), "tufmirror {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn utf8(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// An index line of crate `name`, in upstream's spacing.
pub(crate) fn index_line(name: &str, vers: &str, cksum: char, yanked: bool) -> String {
    format!(
        r#"{{"name": "{name}", "vers": "{vers}", "deps": [], "cksum": "{}", "features": {{}}, "yanked": {yanked}}}"#,
        cksum.to_string().repeat(64)
    )
}

/// A tokio runtime for signing.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

impl Mirror {
    /// The fixture index published as snapshot 1, under root version 2 (signed by the development
    /// root key) which declares one auditor key; served on loopback.
    pub(crate) fn new() -> Mirror {
        let tmp = tempfile::tempdir().expect("tempdir");
        let keys = generate_keys(tmp.path());
        let auditor_key = tmp.path().join("auditor.pem");
        generate_key_file(&auditor_key, KeyAlgorithm::Ed25519).expect("auditor key");
        let proposal = tmp.path().join("root-v2.json");
        let (p, k) = (utf8(&proposal), utf8(&keys));
        let auditor_uri = format!("file:{}", utf8(&auditor_key));
        ok_in(tmp.path(), &["root", "edit", p, "--roots", k, "--add-auditor-key", &auditor_uri]);
        let root_key = format!("file:{}", utf8(&keys.join("root.pem")));
        ok_in(tmp.path(), &["root", "sign", p, "--roots", k, "--key", &root_key]);
        ok_in(tmp.path(), &["root", "publish", p, "--roots", k]);
        let index = tmp.path().join("index");
        super::copy_dir(&super::fixture_index(), &index);
        let out = tmp.path().join("out");
        publish_ok(&index, &keys, &out);
        let server = Server::start(&out);
        Mirror { tmp, keys, index, out, auditor_key, server }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.server.addr)
    }

    /// Publishes the index as the next snapshot (by `tufmirror publish`, which signs whatever the
    /// index holds: the online keys are the mirror's).
    pub(crate) fn publish(&self) -> u64 {
        publish_ok(&self.index, &self.keys, &self.out);
        self.current().0
    }

    /// (snapshot, timestamp version) that the mirror serves now.
    pub(crate) fn current(&self) -> (u64, u64) {
        let bytes = std::fs::read(self.out.join("tuf/timestamp.json")).expect("timestamp");
        let (ts, _) = parse_unverified::<Timestamp>(&bytes).expect("timestamp parses");
        (ts.signed.snapshot_version().expect("snapshot"), ts.signed.version)
    }

    fn edit_lines(&self, path: &str, edit: impl FnOnce(&mut Vec<String>)) {
        let file = self.index.join(path);
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        edit(&mut lines);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("write");
    }

    /// Rewrites the line of version `vers` of the file at `path` with `change` (other lines keep
    /// their exact bytes).
    fn edit_version(&self, path: &str, vers: &str, change: impl Fn(&mut Value)) {
        self.edit_lines(path, |lines| {
            let mut found = false;
            for line in lines.iter_mut() {
                let mut value: Value = serde_json::from_str(line).expect("index line");
                if value["vers"] == vers {
                    change(&mut value);
                    *line = serde_json::to_string(&value).expect("json");
                    found = true;
                }
            }
            assert!(found, "{path} has no version {vers}");
        });
    }

    pub(crate) fn add_line(&self, path: &str, line: &str) {
        self.edit_lines(path, |lines| lines.push(line.to_owned()));
    }

    pub(crate) fn set_yanked(&self, path: &str, vers: &str, yanked: bool) {
        self.edit_version(path, vers, |v| v["yanked"] = yanked.into());
    }

    pub(crate) fn set_cksum(&self, path: &str, vers: &str, cksum: char) {
        self.edit_version(path, vers, |v| v["cksum"] = cksum.to_string().repeat(64).into());
    }

    pub(crate) fn drop_version(&self, path: &str, vers: &str) {
        self.edit_lines(path, |lines| {
            let before = lines.len();
            lines.retain(|l| serde_json::from_str::<Value>(l).expect("index line")["vers"] != vers);
            assert_eq!(lines.len() + 1, before, "{path} has one version {vers}");
        });
    }

    /// The first version listed in the file at `path`.
    pub(crate) fn first_version(&self, path: &str) -> String {
        let text = std::fs::read_to_string(self.index.join(path)).expect("index file");
        let first: Value = serde_json::from_str(text.lines().next().expect("a line")).expect("index line");
        first["vers"].as_str().expect("vers").to_owned()
    }

    pub(crate) fn remove_crate(&self, path: &str) {
        std::fs::remove_file(self.index.join(path)).expect("remove");
    }

    fn signer(&self, role: &str) -> FileSigner {
        FileSigner::open(&self.keys.join(format!("{role}.pem"))).expect("key")
    }

    fn sign<T: Metadata>(&self, meta: T, role: &str) -> Vec<u8> {
        let signer = self.signer(role);
        let signers: [&dyn Signer; 1] = [&signer];
        let signed: Signed<T> = runtime().block_on(sign_metadata(meta, &signers)).expect("sign");
        signed.to_bytes().expect("bytes")
    }

    fn read<T: Metadata>(&self, file: &str) -> T {
        let bytes = std::fs::read(self.out.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        parse_unverified::<T>(&bytes).expect("parses").0.signed
    }

    /// Replaces the current timestamp (history and served) with `timestamp` signed by the
    /// timestamp key: what the holder of the online timestamp key can do.
    pub(crate) fn put_timestamp(&self, timestamp: Timestamp) {
        let version = timestamp.version;
        let bytes = self.sign(timestamp, "timestamp");
        std::fs::write(self.out.join(format!("history/{version}.timestamp.json")), &bytes).expect("history");
        let current = std::fs::canonicalize(self.out.join("tuf/timestamp.json")).expect("current timestamp");
        std::fs::write(current, &bytes).expect("current");
    }

    /// Re-signs the current timestamp after `edit` and serves it as current without touching its
    /// copy in `history/`: two different timestamps with one version.
    pub(crate) fn fork_current_timestamp(&self, edit: impl FnOnce(&mut Timestamp)) {
        let (_, v) = self.current();
        let mut timestamp: Timestamp = self.read(&format!("history/{v}.timestamp.json"));
        edit(&mut timestamp);
        let bytes = self.sign(timestamp, "timestamp");
        let current = std::fs::canonicalize(self.out.join("tuf/timestamp.json")).expect("current timestamp");
        std::fs::write(current, &bytes).expect("current");
    }

    /// Re-signs the targets metadata of the current snapshot after `edit`, with the key of `role`
    /// (a hostile mirror's choice), then its snapshot metadata and timestamp so that both pin the
    /// new bytes.
    pub(crate) fn resign_targets(&self, edit: impl FnOnce(&mut Targets), role: &str) {
        let (n, v) = self.current();
        let mut targets: Targets = self.read(&format!("tuf/{n}.targets.json"));
        edit(&mut targets);
        let targets_bytes = self.sign(targets, role);
        std::fs::write(self.out.join(format!("tuf/{n}.targets.json")), &targets_bytes).expect("targets");
        let mut snapshot: Snapshot = self.read(&format!("tuf/{n}.snapshot.json"));
        snapshot.meta.insert("targets.json".into(), MetaFile::pinning(n, &targets_bytes));
        let snapshot_bytes = self.sign(snapshot, "snapshot");
        std::fs::write(self.out.join(format!("tuf/{n}.snapshot.json")), &snapshot_bytes).expect("snapshot");
        let mut timestamp: Timestamp = self.read(&format!("history/{v}.timestamp.json"));
        timestamp.meta.insert("snapshot.json".into(), MetaFile::pinning(n, &snapshot_bytes));
        self.put_timestamp(timestamp);
    }

    /// The next timestamp version, naming snapshot `n` with its real root and size (unless
    /// `edit` changes them): a rollback when `n` is older than the current snapshot.
    pub(crate) fn next_timestamp(&self, n: u64, edit: impl FnOnce(&mut Timestamp)) {
        let (_, v) = self.current();
        let mut timestamp: Timestamp = self.read(&format!("history/{v}.timestamp.json"));
        let snapshot_bytes = std::fs::read(self.out.join(format!("tuf/{n}.snapshot.json"))).expect("snapshot");
        let diff: Value =
            serde_json::from_slice(&std::fs::read(self.out.join(format!("history/{n}.diff.json"))).expect("diff"))
                .expect("diff parses");
        timestamp.version = v + 1;
        timestamp.meta.insert("snapshot.json".into(), MetaFile::pinning(n, &snapshot_bytes));
        timestamp.merkle_root = Some(serde_json::from_value(diff["merkle_root"].clone()).expect("root"));
        timestamp.merkle_tree_size = diff["tree_size"].as_u64();
        edit(&mut timestamp);
        self.put_timestamp(timestamp);
    }
}

/// `tufmirror audit --mirror URL --state STATE --root ROOT --json EXTRA`: (exit code, report).
/// The report is `Value::Null` when the command printed none (it could not audit).
pub(crate) fn audit(mirror: &str, state: &Path, root: &Path, extra: &[&str]) -> (i32, Value, Output) {
    let mut args = vec!["audit", "--mirror", mirror, "--state", utf8(state), "--root", utf8(root), "--json"];
    args.extend_from_slice(extra);
    let out = super::output(Command::new(bin()).args(&args).env("RUST_LOG", "warn"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = stdout.lines().last().and_then(|l| serde_json::from_str(l).ok()).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, out)
}

/// The findings of a report, as (kind, finding) pairs.
pub(crate) fn findings(report: &Value) -> Vec<(String, Value)> {
    report["findings"]
        .as_array()
        .map(|all| all.iter().map(|f| (f["kind"].as_str().unwrap_or_default().to_owned(), f.clone())).collect())
        .unwrap_or_default()
}

/// Says what the command printed, for assertion messages.
pub(crate) fn describe(out: &Output) -> String {
    format!(
        "status {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
