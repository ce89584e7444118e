//! A published snapshot held in memory: its tree (every proof is computed from it on demand),
//! and the signed metadata that vouches for it.

use crate::datadir::DataDir;
use std::sync::Arc;
use time::OffsetDateTime;
use tufmirror_core::diff::LeafList;
use tufmirror_core::merkle::MerkleTree;
use tufmirror_core::metadata::{Metadata, Snapshot, Targets, Timestamp};
use tufmirror_core::verify::parse_unverified;
use tufmirror_store::{BlobStore, SnapshotRecord};

/// One signed snapshot.
#[derive(Debug)]
pub struct Published {
    pub record: SnapshotRecord,
    pub tree: Arc<MerkleTree>,
    /// `N.snapshot.json` as signed: the timestamp pins these bytes.
    pub snapshot_json: Vec<u8>,
    /// The newest timestamp for this snapshot.
    pub timestamp_json: Vec<u8>,
    pub timestamp_expires: OffsetDateTime,
    pub snapshot_expires: OffsetDateTime,
    pub targets_expires: OffsetDateTime,
}

/// A snapshot whose files are missing or do not agree with the database.
#[derive(Debug, thiserror::Error)]
#[error("snapshot {version} in {dir}: {reason}")]
pub struct DamagedSnapshot {
    pub version: u64,
    pub dir: String,
    pub reason: String,
}

fn expires_of<T: Metadata>(bytes: &[u8]) -> Result<(T, OffsetDateTime), String> {
    let (signed, _) = parse_unverified::<T>(bytes).map_err(|e| e.to_string())?;
    let expires = signed.signed.expires();
    Ok((signed.signed, expires))
}

impl Published {
    /// Reads snapshot `record` back from the data folder, checking that its leaf list gives the
    /// signed root and that its metadata files are the ones the database names.
    pub fn load(dir: &DataDir, blobs: &BlobStore, record: SnapshotRecord) -> Result<Published, DamagedSnapshot> {
        let version = record.version;
        let damaged = |reason: String| DamagedSnapshot { version, dir: dir.root.display().to_string(), reason };
        let leaves = blobs.get(&record.leaves).map_err(|e| damaged(format!("leaf list {}: {e}", record.leaves)))?;
        let leaves: LeafList =
            serde_json::from_slice(&leaves).map_err(|e| damaged(format!("leaf list {}: {e}", record.leaves)))?;
        let tree = MerkleTree::build(leaves.leaves).map_err(|e| damaged(e.to_string()))?;
        if tree.root() != record.merkle_root {
            return Err(damaged("the leaf list does not give the recorded merkle_root".to_owned()));
        }
        let read =
            |path: std::path::PathBuf| std::fs::read(&path).map_err(|e| damaged(format!("{}: {e}", path.display())));
        let snapshot_json = read(dir.tuf(&format!("{version}.snapshot.json")))?;
        let targets_json = read(dir.tuf(&format!("{version}.targets.json")))?;
        let timestamp_json = read(dir.history(&format!("{}.timestamp.json", record.timestamp_version)))?;
        let (timestamp, timestamp_expires) = expires_of::<Timestamp>(&timestamp_json).map_err(&damaged)?;
        let (_, snapshot_expires) = expires_of::<Snapshot>(&snapshot_json).map_err(&damaged)?;
        let (_, targets_expires) = expires_of::<Targets>(&targets_json).map_err(&damaged)?;
        if timestamp.merkle_root != Some(record.merkle_root) || timestamp.snapshot_version() != Some(version) {
            return Err(damaged("the timestamp does not vouch for this snapshot".to_owned()));
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

    pub fn version(&self) -> u64 {
        self.record.version
    }
}
