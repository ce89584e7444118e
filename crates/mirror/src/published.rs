//! A published snapshot held in memory: its tree (every proof is computed from it on demand),
//! and the signed metadata that vouches for it.

use crate::datadir::DataDir;
use std::sync::Arc;
use time::OffsetDateTime;
use tufmirror_core::Sha256Hash;
use tufmirror_core::diff::LeafList;
use tufmirror_core::merkle::{LeafError, MerkleTree};
use tufmirror_core::metadata::{Metadata, Snapshot, Targets, Timestamp};
use tufmirror_core::verify::{VerifyError, parse_unverified};
use tufmirror_store::{BlobStore, SnapshotRecord};

/// One signed snapshot.
#[derive(Debug)]
pub struct Published {
    /// The snapshot's row in the state database (version, Merkle root, leaf list, times).
    pub record: SnapshotRecord,
    /// The Merkle tree over the snapshot's index files (TAP 16).
    pub tree: Arc<MerkleTree>,
    /// `N.snapshot.json` as signed: the timestamp pins these bytes.
    pub snapshot_json: Vec<u8>,
    /// The newest timestamp for this snapshot.
    pub timestamp_json: Vec<u8>,
    /// `expires` of `timestamp_json`.
    pub timestamp_expires: OffsetDateTime,
    /// `expires` of `snapshot_json`.
    pub snapshot_expires: OffsetDateTime,
    /// `expires` of the targets metadata this snapshot names.
    pub targets_expires: OffsetDateTime,
}

/// A snapshot whose files are missing or do not agree with the database.
#[derive(Debug, thiserror::Error)]
#[error("snapshot {version} in {dir}")]
pub struct DamagedSnapshot {
    /// The snapshot version.
    pub version: u64,
    /// The data folder.
    pub dir: String,
    /// What is wrong.
    #[source]
    pub damage: SnapshotDamage,
}

/// What is wrong with a stored snapshot.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotDamage {
    /// A file of it cannot be read.
    #[error("cannot read {path}")]
    Unreadable {
        /// The file (or the leaf list's blob).
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The leaf list is not one.
    #[error("leaf list {blob}")]
    LeafList {
        /// The leaf list's blob hash.
        blob: Sha256Hash,
        /// Why it does not parse.
        #[source]
        source: serde_json::Error,
    },
    /// The leaves do not make a tree (unsorted, repeated paths).
    #[error("the leaf list's leaves")]
    Leaves(#[source] LeafError),
    /// The leaves make a tree with another root than the database records.
    #[error("the leaf list does not give the recorded merkle_root")]
    OtherRoot,
    /// A metadata file does not parse.
    #[error("its metadata")]
    Metadata(#[source] VerifyError),
    /// The timestamp names another snapshot or root.
    #[error("the timestamp does not vouch for this snapshot")]
    NotVouched,
}

fn expires_of<T: Metadata>(bytes: &[u8]) -> Result<(T, OffsetDateTime), SnapshotDamage> {
    let (signed, _) = parse_unverified::<T>(bytes).map_err(SnapshotDamage::Metadata)?;
    let expires = signed.signed.expires();
    Ok((signed.signed, expires))
}

impl Published {
    /// Reads snapshot `record` back from the data folder, checking that its leaf list gives the
    /// signed root and that its metadata files are the ones the database names.
    pub fn load(dir: &DataDir, blobs: &BlobStore, record: SnapshotRecord) -> Result<Published, DamagedSnapshot> {
        let version = record.version;
        let damaged = |damage: SnapshotDamage| DamagedSnapshot { version, dir: dir.root.display().to_string(), damage };
        let blob = record.leaves;
        let leaves = blobs
            .get(&blob)
            .map_err(|source| damaged(SnapshotDamage::Unreadable { path: format!("leaf list {blob}"), source }))?;
        let leaves: LeafList =
            serde_json::from_slice(&leaves).map_err(|source| damaged(SnapshotDamage::LeafList { blob, source }))?;
        let tree = MerkleTree::build(leaves.leaves).map_err(|e| damaged(SnapshotDamage::Leaves(e)))?;
        if tree.root() != record.merkle_root {
            return Err(damaged(SnapshotDamage::OtherRoot));
        }
        let read = |path: std::path::PathBuf| {
            std::fs::read(&path)
                .map_err(|source| damaged(SnapshotDamage::Unreadable { path: path.display().to_string(), source }))
        };
        let snapshot_json = read(dir.tuf(&format!("{version}.snapshot.json")))?;
        let targets_json = read(dir.tuf(&format!("{version}.targets.json")))?;
        let timestamp_json = read(dir.history(&format!("{}.timestamp.json", record.timestamp_version)))?;
        let (timestamp, timestamp_expires) = expires_of::<Timestamp>(&timestamp_json).map_err(&damaged)?;
        let (_, snapshot_expires) = expires_of::<Snapshot>(&snapshot_json).map_err(&damaged)?;
        let (_, targets_expires) = expires_of::<Targets>(&targets_json).map_err(&damaged)?;
        if timestamp.merkle_root != Some(record.merkle_root) || timestamp.snapshot_version() != Some(version) {
            return Err(damaged(SnapshotDamage::NotVouched));
        }
        Ok(Published {
            record,
            tree: Arc::new(tree),
            snapshot_json,
            timestamp_json,
            timestamp_expires,
            snapshot_expires,
            targets_expires,
        })
    }

    /// The snapshot's version (`N` in `N.snapshot.json`).
    pub fn version(&self) -> u64 {
        self.record.version
    }
}
