//! Building and signing the metadata of one snapshot: targets (with `config.json` and removal
//! records), snapshot, and a timestamp that carries the Merkle root. Each document is serialized
//! once; the bytes that are signed are the bytes that are written, and the next role pins them by
//! length and hash. Each document is bound to the root whose keys sign it
//! (`x-tufmirror-root-version`, docs/POUF.md 1.9).

use crate::keys::RoleSigners;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use tufmirror_core::binding::RootBound;
use tufmirror_core::diff::SnapshotDiff;
use tufmirror_core::merkle::MerkleTree;
use tufmirror_core::metadata::{
    MetaFile, Metadata, RemovalRecord, Role, SPEC_VERSION, Snapshot, TargetFile, Targets, Timestamp,
};
use tufmirror_core::time::in_days;
use tufmirror_signer::{Signer, SignerError, sign_metadata};

/// How long each role's metadata stays valid, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiries {
    /// Days that targets metadata stays valid.
    pub targets: i64,
    /// Days that snapshot metadata stays valid.
    pub snapshot: i64,
    /// Days that timestamp metadata stays valid.
    pub timestamp: i64,
}

impl Default for Expiries {
    fn default() -> Self {
        Expiries {
            targets: Role::Targets.default_expiry_days(),
            snapshot: Role::Snapshot.default_expiry_days(),
            timestamp: Role::Timestamp.default_expiry_days(),
        }
    }
}

/// What one snapshot's metadata says.
#[derive(Debug)]
pub struct SnapshotPlan<'a> {
    /// The snapshot version (`version` of snapshot metadata).
    pub snapshot_version: u64,
    /// The timestamp version.
    pub timestamp_version: u64,
    /// The snapshot's Merkle tree: its root and size go into the timestamp.
    pub tree: &'a MerkleTree,
    /// The bytes of `config.json`, listed as the only target.
    pub config: &'a [u8],
    /// The removal records that targets metadata carries (`x-tufmirror-removals`).
    pub removals: Vec<RemovalRecord>,
    /// The signing time, from which expiries count.
    pub now: OffsetDateTime,
    /// How long each role's metadata stays valid.
    pub expiries: Expiries,
    /// The version of the root whose keys sign (the newest root): written into each document.
    pub root_version: u64,
}

/// The serialized, signed metadata of one snapshot.
#[derive(Debug, Clone)]
pub struct SignedSnapshot {
    /// Signed `targets.json`, as served.
    pub targets: Vec<u8>,
    /// Signed `snapshot.json`, as served.
    pub snapshot: Vec<u8>,
    /// Signed `timestamp.json`, as served.
    pub timestamp: Vec<u8>,
}

fn signers_of(signers: &RoleSigners, role: Role) -> Vec<&dyn Signer> {
    signers.get(&role).map(|v| v.iter().map(|s| s.as_ref()).collect()).unwrap_or_default()
}

async fn sign_to_bytes<T: Metadata>(meta: T, signers: &RoleSigners) -> Result<Vec<u8>, SignerError> {
    let signed = sign_metadata(meta, &signers_of(signers, T::ROLE)).await?;
    signed.to_bytes().map_err(|e| SignerError::Other(Box::new(e)))
}

/// The removal records of snapshot `diff.snapshot_version`: one per removed path, with its reason.
pub fn removal_records(diff: &SnapshotDiff, reason: impl Fn(&str) -> String) -> Vec<RemovalRecord> {
    diff.removed
        .iter()
        .map(|path| RemovalRecord { path: path.clone(), snapshot_version: diff.snapshot_version, reason: reason(path) })
        .collect()
}

/// Signs targets, snapshot and timestamp for `plan`.
pub async fn sign_snapshot(plan: SnapshotPlan<'_>, signers: &RoleSigners) -> Result<SignedSnapshot, SignerError> {
    let mut targets = Targets {
        kind: Role::Targets,
        spec_version: SPEC_VERSION.to_owned(),
        version: plan.snapshot_version,
        expires: in_days(plan.now, plan.expiries.targets),
        targets: BTreeMap::from([("config.json".to_owned(), TargetFile::of(plan.config))]),
        removals: plan.removals,
        delegations: None,
        unknown: BTreeMap::new(),
    };
    targets.bind_to_root(plan.root_version);
    let targets = sign_to_bytes(targets, signers).await?;

    let mut snapshot = Snapshot {
        kind: Role::Snapshot,
        spec_version: SPEC_VERSION.to_owned(),
        version: plan.snapshot_version,
        expires: in_days(plan.now, plan.expiries.snapshot),
        meta: BTreeMap::from([("targets.json".to_owned(), MetaFile::pinning(plan.snapshot_version, &targets))]),
        unknown: BTreeMap::new(),
    };
    snapshot.bind_to_root(plan.root_version);
    let snapshot = sign_to_bytes(snapshot, signers).await?;

    let timestamp = sign_timestamp(
        plan.timestamp_version,
        plan.snapshot_version,
        &snapshot,
        plan.tree,
        plan.now,
        plan.expiries.timestamp,
        plan.root_version,
        signers,
    )
    .await?;
    Ok(SignedSnapshot { targets, snapshot, timestamp })
}

/// Signs a timestamp for an already signed snapshot: also what re-signing before expiry uses.
/// `root_version` is the root whose keys sign it (the snapshot's own binding: keys change only
/// with a new snapshot).
#[allow(clippy::too_many_arguments)]
pub async fn sign_timestamp(
    version: u64,
    snapshot_version: u64,
    snapshot_bytes: &[u8],
    tree: &MerkleTree,
    now: OffsetDateTime,
    expiry_days: i64,
    root_version: u64,
    signers: &RoleSigners,
) -> Result<Vec<u8>, SignerError> {
    let mut timestamp = Timestamp {
        kind: Role::Timestamp,
        spec_version: SPEC_VERSION.to_owned(),
        version,
        expires: in_days(now, expiry_days),
        meta: BTreeMap::from([("snapshot.json".to_owned(), MetaFile::pinning(snapshot_version, snapshot_bytes))]),
        merkle_root: Some(tree.root()),
        merkle_tree_size: Some(tree.len() as u64),
        unknown: BTreeMap::new(),
    };
    timestamp.bind_to_root(root_version);
    sign_to_bytes(timestamp, signers).await
}
