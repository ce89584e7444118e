//! What auditing costs: an auditor that starts from nothing (every index file of snapshot 1), then
//! 1,000 new snapshots at a time, for index sizes a factor of ten apart. Incremental cost should
//! follow the diffs, not the index.
//!
//! ```text
//! cargo bench --bench audit                                   # 25,400 and 254,000 files
//! TUFMIRROR_BENCH_FILES=254000 cargo bench --bench audit      # one size
//! TUFMIRROR_BENCH_SNAPSHOTS=100 TUFMIRROR_BENCH_FILES=2000 cargo bench --bench audit   # smoke run
//! ```
//!
//! The mirror is in memory (a `Fetcher` that answers from maps), so the figures are the auditor's
//! own work: fetching through the trait, parsing, checking signatures, hashing, applying diffs,
//! reading index files, and its state database (redb, in a temporary folder, flushed on every
//! commit). The synthetic index is `tufmirror_testkit::synthetic_index`; each new snapshot appends
//! one version to `TUFMIRROR_BENCH_CHANGED` (C, default 10) random crates; the series add no new
//! crate, one, or C per snapshot (`benchnew<N>x<i>`: paths added to the tree, which in a tree of
//! sorted leaves would move every leaf to their right; in POUF 1.4's buckets each re-hashes one
//! bucket), and the last changes 10 C files per snapshot. Prints a Markdown table.

use async_trait::async_trait;
use ed25519_dalek::Signer as _;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tufmirror_audit::{Auditor, AuditorConfig, Report};
use tufmirror_client::{FetchError, Fetcher};
use tufmirror_core::audit_rules::LeafTree;
use tufmirror_core::diff::SnapshotDiff;
use tufmirror_core::merkle::Leaf;
use tufmirror_core::metadata::{MetaFile, Metadata, RoleKeys, SPEC_VERSION, Signed, TargetFile};
use tufmirror_core::{PublicKey, Role, Root, Snapshot, Targets, Timestamp, time};
use tufmirror_testkit::{Rng, sparse_path, synthetic_index};

const BASE: &str = "http://bench.invalid/";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.trim().replace('_', "").parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// The versions of one index file: the snapshot from which each of its bytes is current.
type Versions = Vec<(u64, Arc<Vec<u8>>)>;

/// The mirror's files: metadata, diffs and timestamps by path; index files by path.
#[derive(Debug, Default)]
struct Files {
    plain: HashMap<String, Arc<Vec<u8>>>,
    index: HashMap<String, Versions>,
}

#[derive(Debug, Clone, Default)]
struct MemoryMirror(Arc<RwLock<Files>>);

#[async_trait]
impl Fetcher for MemoryMirror {
    async fn fetch(&self, url: &str, max_length: u64) -> Result<Vec<u8>, FetchError> {
        let path = url.strip_prefix(BASE).ok_or(FetchError::NotFound { status: 404 })?;
        let files = self.0.read().map_err(|_| FetchError::Status { status: 500 })?;
        let bytes = match path.strip_prefix("snapshots/").and_then(|rest| rest.split_once("/index/")) {
            Some((n, file)) => {
                let n: u64 = n.parse().map_err(|_| FetchError::NotFound { status: 404 })?;
                files
                    .index
                    .get(file)
                    .and_then(|versions| versions.iter().rev().find(|(from, _)| *from <= n))
                    .map(|(_, b)| b)
            }
            None => files.plain.get(path),
        };
        let bytes = bytes.ok_or(FetchError::NotFound { status: 404 })?;
        if bytes.len() as u64 > max_length {
            return Err(FetchError::TooLarge { limit: max_length });
        }
        Ok(bytes.to_vec())
    }
}

/// Publishes snapshots into a [`MemoryMirror`] the way tufmirror does (diff, targets with removal
/// records, snapshot, timestamp with the Merkle root), signed with one Ed25519 key for every role.
struct Publisher {
    key: ed25519_dalek::SigningKey,
    public: PublicKey,
    mirror: MemoryMirror,
    tree: LeafTree,
    current: HashMap<String, Vec<u8>>,
    version: u64,
}

impl Publisher {
    fn new(mirror: MemoryMirror) -> Self {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let public = PublicKey::Ed25519(key.verifying_key());
        Publisher { key, public, mirror, tree: LeafTree::default(), current: HashMap::new(), version: 0 }
    }

    fn sign<T: Metadata>(&self, meta: T) -> Vec<u8> {
        let mut signed = Signed::unsigned(meta);
        let bytes = signed.signed_bytes().expect("canonical JSON");
        signed.add_signature(self.public.key_id(), &self.key.sign(&bytes).to_bytes());
        signed.to_bytes().expect("JSON")
    }

    fn root(&self) -> Vec<u8> {
        let id = self.public.key_id();
        let keys = || RoleKeys { keyids: vec![id.clone()], threshold: 1, unknown: BTreeMap::new() };
        self.sign(Root {
            kind: Role::Root,
            spec_version: SPEC_VERSION.to_owned(),
            version: 1,
            expires: time::in_days(time::DateTime::now_utc(), 365),
            consistent_snapshot: true,
            keys: BTreeMap::from([(id.clone(), self.public.to_key_object())]),
            roles: Role::ALL.iter().map(|r| (r.name().to_owned(), keys())).collect(),
            unknown: BTreeMap::new(),
        })
    }

    /// The next snapshot: `files` (path, new bytes) replace or add index files.
    fn publish(&mut self, files: Vec<(String, Vec<u8>)>) {
        let n = self.version + 1;
        let (mut added, mut changed) = (Vec::new(), Vec::new());
        for (path, bytes) in &files {
            let leaf = Leaf::of(path.clone(), bytes);
            if self.current.contains_key(path) { changed.push(leaf) } else { added.push(leaf) }
        }
        added.sort_by(|a, b| a.path.cmp(&b.path));
        changed.sort_by(|a, b| a.path.cmp(&b.path));
        let tree_size = (self.tree.len() + added.len()) as u64;
        let mut diff = SnapshotDiff {
            snapshot_version: n,
            previous_version: n - 1,
            previous_root: self.tree.root(),
            merkle_root: self.tree.root(),
            tree_size,
            added,
            changed,
            removed: Vec::new(),
        };
        diff.merkle_root = self.tree.apply(&diff, n - 1).expect("the bench's diffs apply");
        let expires = time::in_days(time::DateTime::now_utc(), 30);
        let config = br#"{"dl":"https://static.crates.io/crates"}"#;
        let targets = self.sign(Targets {
            kind: Role::Targets,
            spec_version: SPEC_VERSION.to_owned(),
            version: n,
            expires,
            targets: BTreeMap::from([("config.json".to_owned(), TargetFile::of(config))]),
            removals: Vec::new(),
            delegations: None,
            unknown: BTreeMap::new(),
        });
        let snapshot = self.sign(Snapshot {
            kind: Role::Snapshot,
            spec_version: SPEC_VERSION.to_owned(),
            version: n,
            expires,
            meta: BTreeMap::from([("targets.json".to_owned(), MetaFile::pinning(n, &targets))]),
            unknown: BTreeMap::new(),
        });
        let timestamp = self.sign(Timestamp {
            kind: Role::Timestamp,
            spec_version: SPEC_VERSION.to_owned(),
            version: n,
            expires,
            meta: BTreeMap::from([("snapshot.json".to_owned(), MetaFile::pinning(n, &snapshot))]),
            merkle_root: Some(diff.merkle_root),
            merkle_tree_size: Some(diff.tree_size),
            unknown: BTreeMap::new(),
        });
        let diff_json = serde_json::to_vec(&diff).expect("diff JSON");
        let mut mirror = self.mirror.0.write().expect("lock");
        for (path, bytes) in [
            (format!("tuf/{n}.targets.json"), targets),
            (format!("tuf/{n}.snapshot.json"), snapshot),
            (format!("history/{n}.timestamp.json"), timestamp.clone()),
            ("tuf/timestamp.json".to_owned(), timestamp),
            (format!("history/{n}.diff.json"), diff_json),
        ] {
            mirror.plain.insert(path, Arc::new(bytes));
        }
        for (path, bytes) in files {
            mirror.index.entry(path.clone()).or_default().push((n, Arc::new(bytes.clone())));
            self.current.insert(path, bytes);
        }
        self.version = n;
    }
}

/// A line for a new version of crate `name`.
fn line(name: &str, vers: &str, cksum: u64) -> String {
    format!(
        "{{\"name\": \"{name}\", \"vers\": \"{vers}\", \"deps\": [], \"cksum\": \"{cksum:064x}\", \"features\": {{}}, \"yanked\": false}}\n"
    )
}

fn run(rt: &tokio::runtime::Runtime, auditor: &mut Auditor) -> (Report, Duration) {
    let started = Instant::now();
    let report = rt.block_on(auditor.run_once()).expect("the audit runs");
    assert_eq!(report.exit_code(), 0, "the bench's history is clean: {report}");
    (report, started.elapsed())
}

fn fmt(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 { format!("{s:.2} s") } else { format!("{:.1} ms", s * 1e3) }
}

fn main() {
    let sizes: Vec<usize> = match std::env::var("TUFMIRROR_BENCH_FILES") {
        Ok(_) => vec![env_or("TUFMIRROR_BENCH_FILES", 254_000)],
        Err(_) => vec![25_400, 254_000],
    };
    let snapshots: u64 = env_or("TUFMIRROR_BENCH_SNAPSHOTS", 1000);
    let changed: usize = env_or("TUFMIRROR_BENCH_CHANGED", 10);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    println!("| index files | run | snapshots | index files checked | time | per snapshot | per checked file |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for files in sizes {
        let index = synthetic_index(files, 1);
        let mirror = MemoryMirror::default();
        let mut publisher = Publisher::new(mirror.clone());
        publisher.publish(index);
        let state = tempfile::tempdir().expect("tempdir");
        let config = AuditorConfig {
            mirror: BASE.to_owned(),
            state_dir: state.path().to_owned(),
            trusted_root: Some(publisher.root()),
            jobs: 8,
            attestor: None,
        };
        let mut auditor = Auditor::open(config, Arc::new(mirror)).expect("auditor");
        let table = |run: &str, report: &Report, took: Duration| {
            let n = report.snapshots_checked.max(1);
            let per_file = if report.files_checked == 0 {
                "-".to_owned()
            } else {
                format!("{:.1} µs", took.as_secs_f64() * 1e6 / report.files_checked as f64)
            };
            println!(
                "| {files} | {run} | {} | {} | {} | {} | {per_file} |",
                report.snapshots_checked,
                report.files_checked,
                fmt(took),
                fmt(took / n as u32),
            );
        };
        let (report, took) = run(&rt, &mut auditor);
        table("from nothing (snapshot 1: every file)", &report, took);
        let db = std::fs::metadata(state.path().join("state.redb")).map_or(0, |m| m.len());
        println!(
            "| {files} | state folder after it: state.redb {:.1} MiB | - | - | - | - | - |",
            db as f64 / 1048576.0
        );
        // For scale: what recomputing one snapshot's root from all its leaves costs (hash every
        // leaf, build every node), before any download or parsing of a leaf list.
        let leaves = publisher.tree.sorted_leaves();
        let started = Instant::now();
        let rebuilt = LeafTree::from_leaves(leaves).expect("sorted");
        let took = started.elapsed();
        assert_eq!(rebuilt.root(), publisher.tree.root());
        println!(
            "| {files} | reference: one full tree build from every leaf | - | - | {} | {} | - |",
            fmt(took),
            fmt(took)
        );

        let paths: Vec<String> = publisher.current.keys().cloned().collect();
        let mut rng = Rng::new(99);
        let series = [
            (changed, 0, "changes only".to_owned()),
            (changed, 1, "changes + 1 new crate".to_owned()),
            (changed, changed, format!("changes + {changed} new crates")),
            (changed * 10, 0, "ten times the changes".to_owned()),
        ];
        for (changed, new_crates, series) in series {
            for _ in 0..snapshots {
                let n = publisher.version + 1;
                let mut next = Vec::new();
                for i in 0..changed {
                    let path = &paths[rng.below(paths.len())];
                    if next.iter().any(|(p, _)| p == path) {
                        continue;
                    }
                    let name = path.rsplit('/').next().expect("name");
                    let mut bytes = publisher.current[path].clone();
                    bytes.extend_from_slice(line(name, &format!("999.{n}.{i}"), n * 100 + i as u64).as_bytes());
                    next.push((path.clone(), bytes));
                }
                for i in 0..new_crates {
                    let name = format!("benchnew{n}x{i}");
                    next.push((sparse_path(&name), line(&name, "0.1.0", n).into_bytes()));
                }
                publisher.publish(next);
            }
            let (report, took) = run(&rt, &mut auditor);
            table(&format!("{snapshots} new snapshots, {changed} changed files each, {series}"), &report, took);
        }
        let (report, took) = run(&rt, &mut auditor);
        table("nothing new", &report, took);
    }
}
