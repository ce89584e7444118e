//! Verifying what a running daemon serves, over HTTP, the way a TAP-16 client would: the root
//! chain from `1.root.json`, the timestamp, snapshot and targets metadata (signatures, thresholds,
//! versions, hashes, expiry), `config.json` against targets, the leaf list against the signed
//! Merkle root, and every index file under `/index/` against its leaf and its `TUF-Merkle-Proof`
//! header.
//!
//! The daemon keeps publishing while it is verified (on-demand checks, its own refresh). A proof
//! for a newer snapshot than the timestamp fetched at the start means exactly that, and the whole
//! verification starts over; anything else that does not hold fails the test.

use super::http_get;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use tufmirror_core::Sha256Hash;
use tufmirror_core::diff::LeafList;
use tufmirror_core::merkle::{InclusionProof, MerkleTree, NonInclusionProof};
use tufmirror_core::metadata::{Role, Root, Signed, Snapshot, Targets, Timestamp};
use tufmirror_core::verify::{RoleVerifier, check_not_expired, parse_unverified, parse_verified, verify_root_update};

/// What a full verification found.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedSnapshot {
    /// The snapshot version the timestamp names.
    pub version: u64,
    pub timestamp_version: u64,
    pub merkle_root: Sha256Hash,
    pub tree_size: u64,
    /// The newest root.
    pub root: Root,
    /// The targets metadata of this snapshot.
    pub targets: Targets,
    /// Every index file of the snapshot, by sparse path, as `/index/<path>` served it.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The body of a 200 answer, or a panic naming the path.
pub(crate) fn get_ok(addr: SocketAddr, path: &str) -> Vec<u8> {
    let response = http_get(addr, path, &[]);
    assert_eq!(response.status, 200, "GET {path}: {}", String::from_utf8_lossy(&response.body));
    response.body
}

/// Fetches and checks the root chain `1.root.json`, `2.root.json`, ... (the first is trusted on
/// first use and must sign itself); returns the newest.
pub(crate) fn verify_root_chain(addr: SocketAddr) -> Root {
    let first = get_ok(addr, "/tuf/1.root.json");
    let (root, signed_bytes) = parse_unverified::<Root>(&first).expect("1.root.json parses");
    RoleVerifier::from_root(&root.signed, Role::Root)
        .expect("root role")
        .verify(&signed_bytes, &root.signatures)
        .expect("1.root.json is signed by its own root keys");
    assert_eq!(root.signed.version, 1);
    let mut trusted = root.signed;
    let mut newest_bytes = first;
    loop {
        let next = http_get(addr, &format!("/tuf/{}.root.json", trusted.version + 1), &[]);
        if next.status == 404 {
            break;
        }
        assert_eq!(next.status, 200, "root {}", trusted.version + 1);
        trusted = verify_root_update(&trusted, &next.body).expect("root update verifies").signed;
        newest_bytes = next.body;
    }
    assert_eq!(get_ok(addr, "/tuf/root.json"), newest_bytes, "/tuf/root.json is the newest root");
    check_not_expired(&trusted, time::OffsetDateTime::now_utc()).expect("root not expired");
    trusted
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256Hash::of(bytes).to_hex()
}

/// The daemon published a newer snapshot while we were looking.
struct Moved;

/// Verifies everything the daemon serves for its current snapshot (see the module comment).
pub(crate) fn verify_daemon(addr: SocketAddr) -> VerifiedSnapshot {
    for _ in 0..20 {
        if let Ok(verified) = attempt(addr) {
            return verified;
        }
    }
    panic!("the daemon kept publishing new snapshots while being verified");
}

/// [`verify_daemon`] as (snapshot version, files).
pub(crate) fn verify_http(addr: SocketAddr) -> (u64, BTreeMap<String, Vec<u8>>) {
    let v = verify_daemon(addr);
    (v.version, v.files)
}

fn attempt(addr: SocketAddr) -> Result<VerifiedSnapshot, Moved> {
    let root = verify_root_chain(addr);
    let now = time::OffsetDateTime::now_utc();
    let verifier = |role| RoleVerifier::from_root(&root, role).expect("role in root");

    let timestamp_bytes = get_ok(addr, "/tuf/timestamp.json");
    let timestamp: Signed<Timestamp> =
        parse_verified(&timestamp_bytes, &verifier(Role::Timestamp)).expect("timestamp verifies");
    check_not_expired(&timestamp.signed, now).expect("timestamp not expired");
    let timestamp_version = timestamp.signed.version;
    let n = timestamp.signed.snapshot_version().expect("timestamp names a snapshot");
    let merkle_root = timestamp.signed.merkle_root.expect("timestamp has merkle_root");
    let tree_size = timestamp.signed.merkle_tree_size.expect("timestamp has merkle_tree_size");
    verify_timestamp_history(addr, &root, timestamp_version, &timestamp_bytes);

    let snapshot_bytes = get_ok(addr, &format!("/tuf/{n}.snapshot.json"));
    let pinned = &timestamp.signed.meta["snapshot.json"];
    assert_eq!(pinned.hashes.as_ref().expect("hashes")["sha256"], sha256_hex(&snapshot_bytes), "snapshot hash");
    assert_eq!(pinned.length, Some(snapshot_bytes.len() as u64), "snapshot length");
    let snapshot = parse_verified::<Snapshot>(&snapshot_bytes, &verifier(Role::Snapshot)).expect("snapshot verifies");
    assert_eq!(snapshot.signed.version, n, "snapshot version");
    check_not_expired(&snapshot.signed, now).expect("snapshot not expired");

    let t = snapshot.signed.targets_version().expect("snapshot names targets");
    let targets_bytes = get_ok(addr, &format!("/tuf/{t}.targets.json"));
    let pinned = &snapshot.signed.meta["targets.json"];
    if let Some(hashes) = &pinned.hashes {
        assert_eq!(hashes["sha256"], sha256_hex(&targets_bytes), "targets hash");
    }
    if let Some(length) = pinned.length {
        assert_eq!(length, targets_bytes.len() as u64, "targets length");
    }
    let targets = parse_verified::<Targets>(&targets_bytes, &verifier(Role::Targets)).expect("targets verifies");
    assert_eq!(targets.signed.version, t, "targets version");
    check_not_expired(&targets.signed, now).expect("targets not expired");
    for record in &targets.signed.removals {
        assert_eq!(record.snapshot_version, n, "a removal record belongs to the snapshot that signs it");
    }

    let config = get_ok(addr, "/index/config.json");
    let target = &targets.signed.targets["config.json"];
    assert!(target.matches(&config), "config.json matches its target");
    assert_eq!(get_ok(addr, &format!("/index/{}.config.json", sha256_hex(&config))), config);

    let leaves_bytes = http_get(addr, &format!("/snapshots/{n}/leaves.json"), &[]);
    if leaves_bytes.status == 404 && newer_than(addr, n) {
        return Err(Moved);
    }
    assert_eq!(leaves_bytes.status, 200, "leaves.json of the current snapshot {n}");
    let list: LeafList = serde_json::from_slice(&leaves_bytes.body).expect("leaves.json parses");
    assert_eq!((list.snapshot_version, list.tree_size, list.merkle_root), (n, tree_size, merkle_root));
    let tree = MerkleTree::build(list.leaves.clone()).expect("leaves sorted and unique");
    assert_eq!(tree.root(), merkle_root, "the leaves rebuild the signed merkle_root");
    assert_eq!(tree.len() as u64, tree_size);

    let mut files = BTreeMap::new();
    for leaf in &list.leaves {
        let response = http_get(addr, &format!("/index/{}", leaf.path), &[]);
        let proof = proof_header::<InclusionProof>(&response.headers);
        if response.status != 200 || proof.as_ref().is_some_and(|p| p.snapshot_version != n) {
            // Only a newer snapshot may explain a different answer.
            if newer_than(addr, n) {
                return Err(Moved);
            }
            panic!("GET /index/{}: status {} proof {proof:?}", leaf.path, response.status);
        }
        let proof = proof.unwrap_or_else(|| panic!("/index/{} has no proof header", leaf.path));
        assert_eq!(proof.leaf_contents, *leaf, "{}: proof leaf", leaf.path);
        proof
            .verify_file(&leaf.path, &response.body, &merkle_root, tree_size, n)
            .unwrap_or_else(|e| panic!("/index/{}: {e}", leaf.path));
        files.insert(leaf.path.clone(), response.body);
    }
    if newer_than(addr, n) {
        // Still a consistent snapshot, but the daemon moved on while we looked: start over so
        // that what we return is what is served now.
        return Err(Moved);
    }
    Ok(VerifiedSnapshot { version: n, timestamp_version, merkle_root, tree_size, root, targets: targets.signed, files })
}

/// Every timestamp ever signed is kept, with consecutive versions, each signed under some root of
/// the chain (keys rotate) and each naming a snapshot no older than the one before; the newest is
/// the one served as `timestamp.json`.
fn verify_timestamp_history(addr: SocketAddr, root: &Root, newest: u64, newest_bytes: &[u8]) {
    let verifiers: Vec<RoleVerifier> = (1..=root.version)
        .map(|v| {
            let (r, _) = parse_unverified::<Root>(&get_ok(addr, &format!("/tuf/{v}.root.json"))).expect("root parses");
            RoleVerifier::from_root(&r.signed, Role::Timestamp).expect("timestamp role")
        })
        .collect();
    let mut last_snapshot = 0;
    for v in 1..=newest {
        let bytes = get_ok(addr, &format!("/history/{v}.timestamp.json"));
        let ts = verifiers
            .iter()
            .rev()
            .find_map(|verifier| parse_verified::<Timestamp>(&bytes, verifier).ok())
            .unwrap_or_else(|| panic!("historic timestamp {v} verifies under no root of the chain"));
        assert_eq!(ts.signed.version, v, "history/{v}.timestamp.json has version {v}");
        let snapshot = ts.signed.snapshot_version().expect("snapshot version");
        assert!(snapshot >= last_snapshot, "timestamp {v} goes back to snapshot {snapshot}");
        last_snapshot = snapshot;
        if v == newest {
            assert_eq!(bytes, newest_bytes, "the newest historic timestamp is the served one");
        }
    }
    assert_eq!(http_get(addr, &format!("/history/{}.timestamp.json", newest + 1), &[]).status, 404);
}

/// Whether the daemon now serves a snapshot newer than `n` (a signed timestamp says so).
fn newer_than(addr: SocketAddr, n: u64) -> bool {
    let bytes = get_ok(addr, "/tuf/timestamp.json");
    let (ts, _) = parse_unverified::<Timestamp>(&bytes).expect("timestamp parses");
    let now = ts.signed.snapshot_version().expect("snapshot version");
    assert!(now >= n, "the served snapshot went back from {n} to {now}");
    now > n
}

/// The `TUF-Merkle-Proof` header, decoded (base64 of canonical JSON).
pub(crate) fn proof_header<T: serde::de::DeserializeOwned>(headers: &BTreeMap<String, String>) -> Option<T> {
    let value = headers.get("tuf-merkle-proof")?;
    let json = base64::engine::general_purpose::STANDARD.decode(value).expect("proof header is base64");
    Some(serde_json::from_slice(&json).expect("proof header is a proof"))
}

/// Checks that `/index/<path>` is a 404 whose non-inclusion proof holds against `verified`.
pub(crate) fn verify_absent(addr: SocketAddr, verified: &VerifiedSnapshot, path: &str) {
    let response = http_get(addr, &format!("/index/{path}"), &[]);
    assert_eq!(response.status, 404, "/index/{path} is absent: {}", String::from_utf8_lossy(&response.body));
    let proof: NonInclusionProof = proof_header(&response.headers).expect("a 404 carries a non-inclusion proof");
    proof
        .verify(path, &verified.merkle_root, verified.tree_size, verified.version)
        .unwrap_or_else(|e| panic!("non-inclusion proof of {path}: {e}"));
}

/// What a client pins from a daemon before the daemon is killed or stopped: `1.root.json` byte for
/// byte (the root a client was configured with), and the online keys: the key ids of targets,
/// snapshot and timestamp in the newest root, which sign everything served between ceremonies.
///
/// A restart must come back with both. [`verify_daemon`] trusts whatever `1.root.json` the daemon
/// serves (it is a first use each time), so a daemon that came back with a fresh data folder and
/// regenerated keys would verify there; a real client configured with the old root refuses it. The
/// restart tests check [`Pins::assert_kept`] after each restart for that reason.
#[derive(Debug, Clone)]
pub(crate) struct Pins {
    pub root1: Vec<u8>,
    /// Role name (`targets`, `snapshot`, `timestamp`) to its key ids in the newest root.
    pub online: BTreeMap<&'static str, Vec<String>>,
    /// The newest root when pinned: the served timestamp must verify under it.
    pub root: Root,
}

const ONLINE_ROLES: [&str; 3] = ["targets", "snapshot", "timestamp"];

fn online_keys(root: &Root) -> BTreeMap<&'static str, Vec<String>> {
    ONLINE_ROLES
        .iter()
        .map(|name| {
            let ids = root.roles.get(*name).map(|r| r.keyids.iter().map(ToString::to_string).collect());
            (*name, ids.unwrap_or_default())
        })
        .collect()
}

impl Pins {
    /// Pins what `addr` serves now (its root chain verified first).
    pub(crate) fn observe(addr: SocketAddr) -> Pins {
        let root = verify_root_chain(addr);
        Pins { root1: get_ok(addr, "/tuf/1.root.json"), online: online_keys(&root), root }
    }

    /// Whether `addr` still serves the pinned root 1 and online keys; the reason when not.
    pub(crate) fn check(&self, addr: SocketAddr) -> Result<(), String> {
        let root1 = get_ok(addr, "/tuf/1.root.json");
        if root1 != self.root1 {
            return Err(format!(
                "1.root.json changed: sha256 {} was pinned, {} is served",
                sha256_hex(&self.root1),
                sha256_hex(&root1)
            ));
        }
        let online = online_keys(&verify_root_chain(addr));
        if online != self.online {
            return Err(format!(
                "the online keys changed: {:?} were pinned, the newest root lists {online:?}",
                self.online
            ));
        }
        let verifier = RoleVerifier::from_root(&self.root, Role::Timestamp).map_err(|e| e.to_string())?;
        parse_verified::<Timestamp>(&get_ok(addr, "/tuf/timestamp.json"), &verifier)
            .map_err(|e| format!("timestamp.json does not verify under the pinned timestamp key: {e}"))?;
        Ok(())
    }

    /// Panics (naming `context` and the reason) unless `addr` serves the pinned root 1 and keys.
    pub(crate) fn assert_kept(&self, addr: SocketAddr, context: &str) {
        if let Err(reason) = self.check(addr) {
            panic!("{context}: {reason}");
        }
    }
}
