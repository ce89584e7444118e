//! What one snapshot costs at crates.io size: hashing every index file, building the TAP-16 tree,
//! signing targets/snapshot/timestamp, and proving, serializing and verifying every file.
//!
//! ```text
//! cargo bench --bench snapshot                                 # 254,000 files (crates.io size)
//! TUFMIRROR_BENCH_FILES=2000 cargo bench --bench snapshot      # smoke run
//! ```
//!
//! `TUFMIRROR_BENCH_SEED` picks another synthetic index (default 1). The index comes from
//! `tufmirror-testkit` and is generated in memory; its generation is timed separately and is not
//! part of any other figure. Everything else is single-threaded unless its row says otherwise.
//! Prints a Markdown table.

use base64::Engine as _;
use ed25519_dalek::Signer as _;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tufmirror_core::merkle::{
    BUCKETS, InclusionProof, Leaf, MerkleTree, NonInclusionProof, PathProof, bucket_of, node_hash,
};
use tufmirror_core::metadata::{MetaFile, RoleKeys, SPEC_VERSION, Signed, TargetFile};
use tufmirror_core::verify::{RoleVerifier, parse_verified};
use tufmirror_core::{PublicKey, Role, Root, Sha256Hash, Snapshot, Targets, Timestamp, cjson, time};

const SNAPSHOT_VERSION: u64 = 7;
/// Proofs are made, serialized and checked this many at a time, so that memory stays flat.
const BATCH: usize = 8192;
const ABSENT: usize = 10_000;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v.trim().replace('_', "").parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// `VmHWM` (peak resident set) and `VmRSS` of this process, in bytes, from /proc/self/status.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn fmt_dur(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

fn per(d: Duration, n: usize) -> String {
    if n == 0 {
        return "-".to_owned();
    }
    let ns = d.as_secs_f64() * 1e9 / n as f64;
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

struct Table(Vec<[String; 4]>);

impl Table {
    fn row(&mut self, step: &str, total: String, per_file: String, note: impl Into<String>) {
        self.0.push([step.to_owned(), total, per_file, note.into()]);
    }
}

/// One key for all four roles, from a fixed seed.
struct Keys {
    signing: ed25519_dalek::SigningKey,
    public: PublicKey,
}

impl Keys {
    fn new() -> Self {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]);
        let public = PublicKey::Ed25519(signing.verifying_key());
        Keys { signing, public }
    }

    fn sign<T: tufmirror_core::metadata::Metadata>(&self, meta: T) -> (Signed<T>, Vec<u8>) {
        let mut signed = Signed::unsigned(meta);
        let bytes = signed.signed_bytes().expect("canonical JSON");
        let sig = self.signing.sign(&bytes);
        signed.add_signature(self.public.key_id(), &sig.to_bytes());
        let out = signed.to_bytes().expect("canonical JSON");
        (signed, out)
    }

    fn root(&self, now: time::DateTime) -> Root {
        let id = self.public.key_id();
        let roles = Role::ALL
            .iter()
            .map(|r| {
                let keys = RoleKeys { keyids: vec![id.clone()], threshold: 1, unknown: BTreeMap::new() };
                (r.name().to_owned(), keys)
            })
            .collect();
        Root {
            kind: Role::Root,
            spec_version: SPEC_VERSION.to_owned(),
            version: 1,
            expires: time::in_days(now, 365),
            consistent_snapshot: true,
            keys: BTreeMap::from([(id, self.public.to_key_object())]),
            roles,
            unknown: BTreeMap::new(),
        }
    }
}

/// The signed targets, snapshot and timestamp of a snapshot whose tree is `tree`.
struct Published {
    targets: Vec<u8>,
    snapshot: Vec<u8>,
    timestamp: Vec<u8>,
}

fn publish(keys: &Keys, tree: &MerkleTree, now: time::DateTime) -> Published {
    let config = br#"{"dl":"https://static.crates.io/crates","api":"https://crates.io"}"#;
    let targets = Targets {
        kind: Role::Targets,
        spec_version: SPEC_VERSION.to_owned(),
        version: SNAPSHOT_VERSION,
        expires: time::in_days(now, Role::Targets.default_expiry_days()),
        targets: BTreeMap::from([("config.json".to_owned(), TargetFile::of(config))]),
        removals: Vec::new(),
        delegations: None,
        unknown: BTreeMap::new(),
    };
    let (_, targets) = keys.sign(targets);
    let snapshot = Snapshot {
        kind: Role::Snapshot,
        spec_version: SPEC_VERSION.to_owned(),
        version: SNAPSHOT_VERSION,
        expires: time::in_days(now, Role::Snapshot.default_expiry_days()),
        meta: BTreeMap::from([("targets.json".to_owned(), MetaFile::pinning(SNAPSHOT_VERSION, &targets))]),
        unknown: BTreeMap::new(),
    };
    let (_, snapshot) = keys.sign(snapshot);
    let timestamp = Timestamp {
        kind: Role::Timestamp,
        spec_version: SPEC_VERSION.to_owned(),
        version: SNAPSHOT_VERSION,
        expires: time::in_days(now, Role::Timestamp.default_expiry_days()),
        meta: BTreeMap::from([("snapshot.json".to_owned(), MetaFile::pinning(SNAPSHOT_VERSION, &snapshot))]),
        merkle_root: Some(tree.root()),
        merkle_tree_size: Some(tree.len() as u64),
        unknown: BTreeMap::new(),
    };
    let (_, timestamp) = keys.sign(timestamp);
    Published { targets, snapshot, timestamp }
}

fn leaves_of(index: &[(String, Vec<u8>)]) -> Vec<Leaf> {
    index.iter().map(|(path, bytes)| Leaf::of(path.clone(), bytes)).collect()
}

fn leaves_parallel(index: &[(String, Vec<u8>)], threads: usize) -> Vec<Leaf> {
    let chunk = index.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = index.chunks(chunk).map(|part| s.spawn(move || leaves_of(part))).collect();
        parts.into_iter().flat_map(|h| h.join().expect("hashing thread")).collect()
    })
}

/// RFC 6962's recursive Merkle Tree Hash, independent of rs_merkle's bottom-up construction.
fn rfc6962_root(hashes: &[Sha256Hash]) -> Sha256Hash {
    match hashes.len() {
        0 => Sha256Hash::of(b""),
        1 => hashes[0],
        n => {
            // The largest power of two smaller than n.
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&rfc6962_root(&hashes[..k]), &rfc6962_root(&hashes[k..]))
        }
    }
}

/// docs/POUF.md 1.4 read literally: each bucket's RFC 6962 root, then every node of the top tree.
fn pouf_root(leaves: &[Leaf], leaf_hashes: &[Sha256Hash]) -> Sha256Hash {
    let mut buckets = vec![Vec::new(); BUCKETS];
    for (leaf, hash) in leaves.iter().zip(leaf_hashes) {
        buckets[bucket_of(&leaf.path)].push(*hash);
    }
    let mut level: Vec<Sha256Hash> = buckets.iter().map(|b| rfc6962_root(b)).collect();
    while level.len() > 1 {
        level = level.chunks(2).map(|pair| node_hash(&pair[0], &pair[1])).collect();
    }
    level[0]
}

fn main() {
    let files: usize = env_or("TUFMIRROR_BENCH_FILES", 254_000);
    let seed: u64 = env_or("TUFMIRROR_BENCH_SEED", 1);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let now = time::parse("2026-01-01T00:00:00Z").expect("fixed time");
    let mut table = Table(Vec::new());
    let mut memory_notes: Vec<(String, (u64, u64))> = Vec::new();
    memory_notes.push(("start".into(), memory()));

    eprintln!("generating {files} files (seed {seed})...");
    let t = Instant::now();
    let index = tufmirror_testkit::synthetic_index(files, seed);
    let generation = t.elapsed();
    let stats = tufmirror_testkit::stats(&index);
    memory_notes.push(("index generated".into(), memory()));

    // 1. Leaf hashing: SHA-256 of every file and its Leaf.
    eprintln!("hashing...");
    let t = Instant::now();
    let leaves = leaves_of(&index);
    let hashing = t.elapsed();
    let t = Instant::now();
    let leaves_mt = leaves_parallel(&index, threads);
    let hashing_mt = t.elapsed();
    assert!(leaves == leaves_mt, "parallel hashing disagrees");
    drop(leaves_mt);
    memory_notes.push(("leaves hashed".into(), memory()));

    // 2. Tree build (leaf hashes + rs_merkle layers).
    eprintln!("building the tree...");
    let t = Instant::now();
    let tree = MerkleTree::build(leaves).expect("synthetic index is sorted");
    let build = t.elapsed();
    let root = tree.root();
    let n = tree.len();
    memory_notes.push(("tree built".into(), memory()));
    // For reference, the parts of a build: leaf hashes alone, and the root from those hashes by
    // the POUF's definition (RFC 6962's recursion in each bucket, no rs_merkle, every top node
    // hashed). The latter also checks the tree at this size.
    let t = Instant::now();
    let leaf_hashes: Vec<Sha256Hash> = tree.leaves().iter().map(Leaf::hash).collect();
    let t_leaf_hashes = t.elapsed();
    let t = Instant::now();
    let independent_root = pouf_root(tree.leaves(), &leaf_hashes);
    let t_independent = t.elapsed();
    assert_eq!(independent_root, root, "the tree's root is not the one POUF 1.4 defines");
    drop(leaf_hashes);

    // 3. Signed metadata, then a client's check of it.
    let keys = Keys::new();
    let t = Instant::now();
    let published = publish(&keys, &tree, now);
    let signing = t.elapsed();
    let root_meta = keys.root(now);
    let t = Instant::now();
    for role in [Role::Targets, Role::Snapshot, Role::Timestamp] {
        let verifier = RoleVerifier::from_root(&root_meta, role).expect("role");
        match role {
            Role::Targets => drop(parse_verified::<Targets>(&published.targets, &verifier).expect("targets verify")),
            Role::Snapshot => {
                drop(parse_verified::<Snapshot>(&published.snapshot, &verifier).expect("snapshot verifies"))
            }
            _ => {
                let ts = parse_verified::<Timestamp>(&published.timestamp, &verifier).expect("timestamp verifies");
                assert_eq!((ts.signed.merkle_root, ts.signed.merkle_tree_size), (Some(root), Some(n as u64)));
            }
        }
    }
    let verifying = t.elapsed();

    // 4. Per-file proofs, in batches: generate, serialize (serde_json and the canonical JSON of
    //    the TUF-Merkle-Proof header, then base64), parse back, verify, verify with the file.
    eprintln!("proving every file...");
    let (mut t_prove, mut t_json, mut t_cjson, mut t_b64, mut t_parse, mut t_verify, mut t_verify_file) =
        Default::default();
    let mut t_direct = Duration::ZERO;
    let (mut json_bytes, mut header_bytes, mut max_path) = (0usize, 0usize, 0usize);
    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        let t = Instant::now();
        let proofs: Vec<InclusionProof> = (start..end).map(|i| tree.prove_index(i, SNAPSHOT_VERSION)).collect();
        t_prove += t.elapsed();
        let t = Instant::now();
        let jsons: Vec<Vec<u8>> = proofs.iter().map(|p| serde_json::to_vec(p).expect("json")).collect();
        t_json += t.elapsed();
        let t = Instant::now();
        let canon: Vec<Vec<u8>> = proofs.iter().map(|p| cjson::to_vec(p).expect("canonical json")).collect();
        t_cjson += t.elapsed();
        let t = Instant::now();
        let direct: Vec<Vec<u8>> = proofs.iter().map(InclusionProof::to_canonical_json).collect();
        t_direct += t.elapsed();
        assert!(direct == canon, "direct canonical JSON differs from the generic encoder");
        let t = Instant::now();
        let headers: Vec<String> = canon.iter().map(|c| base64::engine::general_purpose::STANDARD.encode(c)).collect();
        t_b64 += t.elapsed();
        let t = Instant::now();
        let parsed: Vec<InclusionProof> =
            jsons.iter().map(|j| serde_json::from_slice(j).expect("proof parses")).collect();
        t_parse += t.elapsed();
        let t = Instant::now();
        for p in &parsed {
            p.verify(&root, n as u64, SNAPSHOT_VERSION).expect("proof verifies");
        }
        t_verify += t.elapsed();
        let t = Instant::now();
        for (p, (path, bytes)) in parsed.iter().zip(&index[start..end]) {
            p.verify_file(path, bytes, &root, n as u64, SNAPSHOT_VERSION).expect("file verifies");
        }
        t_verify_file += t.elapsed();
        assert!(parsed == proofs, "proofs do not round-trip");
        json_bytes += jsons.iter().map(Vec::len).sum::<usize>();
        header_bytes += headers.iter().map(String::len).sum::<usize>();
        max_path = max_path.max(proofs.iter().map(|p| p.path.len()).max().unwrap_or(0));
        black_box((&canon, &headers));
    }
    memory_notes.push(("inclusion proofs done".into(), memory()));

    // 5. Non-inclusion proofs for crates that are not there.
    let absent = tufmirror_testkit::absent_paths(&index, ABSENT.min(files.max(1)), seed);
    let t = Instant::now();
    let non: Vec<NonInclusionProof> = absent
        .iter()
        .map(|p| match tree.prove(p, SNAPSHOT_VERSION) {
            PathProof::Absent(non) => non,
            PathProof::Included(_) => panic!("{p} is in the index"),
        })
        .collect();
    let t_non_prove = t.elapsed();
    let t = Instant::now();
    for (p, proof) in absent.iter().zip(&non) {
        proof.verify(p, &root, n as u64, SNAPSHOT_VERSION).expect("non-inclusion verifies");
    }
    let t_non_verify = t.elapsed();
    let non_bytes: usize = non.iter().map(|p| cjson::to_vec(p).expect("canonical json").len()).sum();
    drop(non);
    drop(tree);

    // 6. The whole build again, end to end: hash, tree, metadata.
    eprintln!("full build...");
    let t = Instant::now();
    let tree = MerkleTree::build(leaves_of(&index)).expect("sorted");
    let published_again = publish(&keys, &tree, now);
    let full = t.elapsed();
    assert_eq!(tree.root(), root, "the build is not deterministic");
    assert_eq!(published_again.timestamp, published.timestamp, "the metadata is not deterministic");
    memory_notes.push(("end".into(), memory()));

    // Report.
    let (peak, _) = memory();
    table.row(
        "generate synthetic index (testkit, not part of a build)",
        fmt_dur(generation),
        per(generation, files),
        format!("{threads} threads"),
    );
    let mb_s = |d: Duration| stats.bytes as f64 / d.as_secs_f64() / 1e6;
    table.row(
        "leaf hashing (SHA-256 of each file + `Leaf::of`)",
        fmt_dur(hashing),
        per(hashing, n),
        format!("{:.0} MB/s", mb_s(hashing)),
    );
    table.row(
        &format!("leaf hashing, {threads} threads (`std::thread::scope`)"),
        fmt_dur(hashing_mt),
        per(hashing_mt, n),
        format!("{:.0} MB/s", mb_s(hashing_mt)),
    );
    table.row(
        "tree build (`MerkleTree::build`)",
        fmt_dur(build),
        per(build, n),
        "check_sorted + leaf hashes + buckets (SHA-256 of each path) + bucket roots (rs_merkle) + top",
    );
    table.row(
        "… of which leaf hashes (`Leaf::hash`, re-run alone)",
        fmt_dur(t_leaf_hashes),
        per(t_leaf_hashes, n),
        "SHA-256(0x00 ‖ canonical leaf JSON)",
    );
    table.row(
        "… reference: POUF 1.4 root from those hashes, no rs_merkle",
        fmt_dur(t_independent),
        per(t_independent, n),
        "by the definition, not part of a build",
    );
    table.row(
        "sign targets + snapshot + timestamp",
        fmt_dur(signing),
        "-".into(),
        format!(
            "Ed25519; {} + {} + {} bytes",
            published.targets.len(),
            published.snapshot.len(),
            published.timestamp.len()
        ),
    );
    table.row("verify the three (`parse_verified` + `RoleVerifier`)", fmt_dur(verifying), "-".into(), "");
    table.row(
        "**full build** (hash + tree + metadata, end to end)",
        format!("**{}**", fmt_dur(full)),
        per(full, n),
        "single thread",
    );
    table.row("inclusion proof (`prove_index`)", fmt_dur(t_prove), per(t_prove, n), format!("≤ {max_path} siblings"));
    table.row(
        "proof → JSON (`serde_json::to_vec`)",
        fmt_dur(t_json),
        per(t_json, n),
        format!("{:.0} bytes avg", json_bytes as f64 / n.max(1) as f64),
    );
    table.row("proof → canonical JSON (generic `cjson::to_vec`)", fmt_dur(t_cjson), per(t_cjson, n), "");
    table.row(
        "proof → canonical JSON (`to_canonical_json`)",
        fmt_dur(t_direct),
        per(t_direct, n),
        "what the header and static proofs carry; equal bytes",
    );
    table.row(
        "canonical JSON → base64 header",
        fmt_dur(t_b64),
        per(t_b64, n),
        format!("{:.0} bytes avg", header_bytes as f64 / n.max(1) as f64),
    );
    table.row("JSON → proof (`serde_json::from_slice`)", fmt_dur(t_parse), per(t_parse, n), "");
    table.row("proof verify (`InclusionProof::verify`)", fmt_dur(t_verify), per(t_verify, n), "");
    table.row(
        "proof verify with the file (`verify_file`)",
        fmt_dur(t_verify_file),
        per(t_verify_file, n),
        "adds SHA-256 of the file",
    );
    table.row(
        &format!("non-inclusion proof (`prove`, {} absent names)", absent.len()),
        fmt_dur(t_non_prove),
        per(t_non_prove, absent.len()),
        format!("{:.0} bytes canonical avg", non_bytes as f64 / absent.len().max(1) as f64),
    );
    table.row(
        "non-inclusion verify (`NonInclusionProof::verify`)",
        fmt_dur(t_non_verify),
        per(t_non_verify, absent.len()),
        "",
    );
    table.row("peak memory (VmHWM)", mib(peak), "-".into(), "whole run, index in memory included");

    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim()))
        .unwrap_or("unknown CPU");
    println!();
    println!("Machine: {threads} CPUs ({model}); TUFMIRROR_BENCH_FILES={files}, TUFMIRROR_BENCH_SEED={seed}");
    println!();
    println!(
        "Synthetic index: {} files, {} lines, {:.2} GB ({:.0} MiB), mean line {:.0} B (median {} B), versions per crate median {} / mean {:.1} / p99 {} / max {}, largest file {:.1} MB; Merkle root {} (checked against an independent RFC 6962 computation; every proof verified)",
        stats.files,
        stats.lines,
        stats.bytes as f64 / 1e9,
        stats.bytes as f64 / (1024.0 * 1024.0),
        stats.mean_line_bytes,
        stats.median_line_bytes,
        stats.median_versions,
        stats.mean_versions,
        stats.p99_versions,
        stats.max_versions,
        stats.max_file_bytes as f64 / 1e6,
        root.to_hex(),
    );
    println!();
    println!("| step | total | per file | notes |");
    println!("|---|---:|---:|---|");
    for [a, b, c, d] in &table.0 {
        println!("| {a} | {b} | {c} | {d} |");
    }
    println!();
    println!("Memory (VmHWM peak / VmRSS now) after each phase:");
    println!();
    for (phase, (hwm, rss)) in &memory_notes {
        println!("- {phase}: {} / {}", mib(*hwm), mib(*rss));
    }
}
