//! The state folder: what the auditor has checked, so that the next run checks only what is new.
//!
//! `DIR/state.redb` (redb: one file, transactional, flushed on commit) holds:
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | `progress` | [`Progress`] as JSON: the last audited snapshot and timestamp, and more |
//! | `roots` | root version | the root's bytes: the verified chain from the trust anchor |
//! | `leaves` | index path | length and SHA-256 of the file in the last audited snapshot |
//! | `records` | index path | [`FileRecord`]: every version and `cksum` last verified in the file |
//! | `pending` | index path | snapshot since when the file's bytes could not be fetched |
//! | `snapshots` | snapshot version | [`SnapshotInfo`]: root, size, pin of its metadata |
//! | `findings` | sequence number | [`StoredFinding`] as JSON |
//!
//! Everything a run learns is written in one transaction per chunk of history, after the chunk was
//! checked, so the state never claims a snapshot it has not checked: a crash loses at most the
//! work since the last commit. The values are binary where there are many of them (`codec`).
//! `DIR/.lock` keeps a second auditor out of the folder.
//!
//! Why redb rather than files replaced with `tufmirror_durable::write_durably`: the leaves and
//! version records of crates.io are tens of megabytes, and a file rewritten per run would make
//! every run cost the size of the index, which is what the incremental audit is for; redb writes
//! only the pages a commit changes.

mod codec;

pub use codec::{Damaged, FileRecord, SnapshotInfo};

use codec::{decode_leaf, encode_leaf};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tufmirror_core::audit_rules::Finding;
use tufmirror_core::merkle::Leaf;
use tufmirror_core::metadata::Role;
use tufmirror_core::{Sha256Hash, merkle};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const ROOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("roots");
const LEAVES: TableDefinition<&str, &[u8]> = TableDefinition::new("leaves");
const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");
const PENDING: TableDefinition<&str, u64> = TableDefinition::new("pending");
const SNAPSHOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("snapshots");
const FINDINGS: TableDefinition<u64, &[u8]> = TableDefinition::new("findings");
const PROGRESS: &str = "progress";

/// Why the state folder could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The redb database could not be created, read or committed.
    #[error("state database {path}")]
    Db {
        /// The database file (`state.redb`).
        path: PathBuf,
        /// What failed.
        #[source]
        source: redb::Error,
    },
    /// The state folder or its lock file could not be created or opened.
    #[error("state folder {path}")]
    Io {
        /// The state folder.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the state folder's lock file.
    #[error("another auditor holds {path}")]
    Locked {
        /// The lock file (`.lock` in the state folder).
        path: PathBuf,
    },
    /// A value in the database does not decode.
    #[error("state database {path}: {reason}")]
    Damaged {
        /// The database file (`state.redb`).
        path: PathBuf,
        /// What did not decode.
        reason: String,
    },
}

/// Where the audit stands: everything up to here was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The mirror this state belongs to (its base URL).
    pub mirror: String,
    /// The last audited snapshot (0: none) and its recomputed tree.
    pub snapshot_version: u64,
    /// The `merkle_root` recomputed for that snapshot.
    pub merkle_root: Sha256Hash,
    /// The number of leaves in that tree.
    pub tree_size: u64,
    /// The targets version that snapshot names.
    pub targets_version: u64,
    /// The last checked timestamp version (0: none).
    pub timestamp_version: u64,
    /// The newest timestamp that was signed and moved forward: what a rollback is measured against.
    pub trusted_timestamp: u64,
    /// The snapshot version named by `trusted_timestamp`.
    pub trusted_timestamp_snapshot: u64,
    /// Per online role, the newest root version whose keys signed its last metadata: older roots'
    /// keys no longer count for that role (see `tufmirror_core::audit_rules::rules::signing_root`).
    pub root_used: BTreeMap<Role, u64>,
    /// The last attestation written: (snapshot, timestamp version).
    pub attested: Option<(u64, u64)>,
}

impl Progress {
    /// The progress of a state that has checked nothing of `mirror` yet.
    pub fn new(mirror: &str) -> Self {
        Progress {
            mirror: mirror.to_owned(),
            snapshot_version: 0,
            merkle_root: merkle::empty_root(),
            tree_size: 0,
            targets_version: 0,
            timestamp_version: 0,
            trusted_timestamp: 0,
            trusted_timestamp_snapshot: 0,
            root_used: BTreeMap::new(),
            attested: None,
        }
    }
}

/// A finding as kept in the state: open until an operator acknowledges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFinding {
    /// What was found.
    pub finding: Finding,
    /// Unix seconds when the auditor found it.
    pub found_at: i64,
    /// Whether an operator acknowledged it (`tufmirror audit --acknowledge`); only unacknowledged
    /// findings stop attestations.
    pub acknowledged: bool,
}

/// Changes that are committed together, and read back before they are (an overlay over the
/// database for the run that makes them).
#[derive(Debug, Default)]
pub struct Batch {
    /// The new progress; `None`: unchanged.
    pub progress: Option<Progress>,
    /// Root metadata to add to the chain, as (version, bytes as served).
    pub roots: Vec<(u64, Vec<u8>)>,
    /// `None`: the path left the tree.
    pub leaves: BTreeMap<String, Option<(u64, Sha256Hash)>>,
    /// Version records to set; `None`: the file left the tree.
    pub records: BTreeMap<String, Option<FileRecord>>,
    /// `Some(since)`: the file's bytes are owed; `None`: no longer.
    pub pending: BTreeMap<String, Option<u64>>,
    /// What to keep of snapshots checked, by version.
    pub snapshots: BTreeMap<u64, SnapshotInfo>,
    /// Findings to add.
    pub findings: Vec<StoredFinding>,
}

impl Batch {
    /// Whether the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.progress.is_none()
            && self.roots.is_empty()
            && self.leaves.is_empty()
            && self.records.is_empty()
            && self.pending.is_empty()
            && self.snapshots.is_empty()
            && self.findings.is_empty()
    }
}

/// The open state folder. See the module documentation.
#[derive(Debug)]
pub struct State {
    db: Database,
    path: PathBuf,
    _lock: std::fs::File,
}

impl State {
    /// Opens (creating) the state in `dir` and takes its lock.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        let io = |source| StateError::Io { path: dir.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let lock_path = dir.join(".lock");
        let lock =
            tufmirror_durable::try_lock(&lock_path).map_err(io)?.ok_or(StateError::Locked { path: lock_path })?;
        let path = dir.join("state.redb");
        let db = Database::create(&path).map_err(|e| StateError::Db { path: path.clone(), source: e.into() })?;
        let state = State { db, path, _lock: lock };
        let txn = state.db.begin_write().map_err(|e| state.db_err(e))?;
        {
            txn.open_table(META).map_err(|e| state.db_err(e))?;
            txn.open_table(ROOTS).map_err(|e| state.db_err(e))?;
            txn.open_table(LEAVES).map_err(|e| state.db_err(e))?;
            txn.open_table(RECORDS).map_err(|e| state.db_err(e))?;
            txn.open_table(PENDING).map_err(|e| state.db_err(e))?;
            txn.open_table(SNAPSHOTS).map_err(|e| state.db_err(e))?;
            txn.open_table(FINDINGS).map_err(|e| state.db_err(e))?;
        }
        txn.commit().map_err(|e| state.db_err(e))?;
        Ok(state)
    }

    fn db_err(&self, e: impl Into<redb::Error>) -> StateError {
        StateError::Db { path: self.path.clone(), source: e.into() }
    }

    fn damaged(&self, reason: impl ToString) -> StateError {
        StateError::Damaged { path: self.path.clone(), reason: reason.to_string() }
    }

    /// Where the audit stands; `None`: nothing checked yet (a new state folder).
    pub fn progress(&self) -> Result<Option<Progress>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let table = txn.open_table(META).map_err(|e| self.db_err(e))?;
        let Some(value) = table.get(PROGRESS).map_err(|e| self.db_err(e))? else { return Ok(None) };
        serde_json::from_slice(value.value()).map(Some).map_err(|e| self.damaged(e))
    }

    /// The root chain, oldest first.
    pub fn roots(&self) -> Result<Vec<Vec<u8>>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let table = txn.open_table(ROOTS).map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(|e| self.db_err(e))? {
            out.push(entry.map_err(|e| self.db_err(e))?.1.value().to_vec());
        }
        Ok(out)
    }

    /// The leaves of the last audited snapshot, sorted by path.
    pub fn leaves(&self) -> Result<Vec<Leaf>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let table = txn.open_table(LEAVES).map_err(|e| self.db_err(e))?;
        let mut out = Vec::with_capacity(table.len().map_err(|e| self.db_err(e))? as usize);
        for entry in table.iter().map_err(|e| self.db_err(e))? {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            let (length, sha256) = decode_leaf(v.value()).map_err(|e| self.damaged(e))?;
            out.push(Leaf { length, path: k.value().to_owned(), sha256 });
        }
        Ok(out)
    }

    /// What was last verified of the index file at `path`; `None`: nothing yet.
    pub fn record(&self, path: &str) -> Result<Option<FileRecord>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let table = txn.open_table(RECORDS).map_err(|e| self.db_err(e))?;
        let value = table.get(path).map_err(|e| self.db_err(e))?;
        value.map(|v| FileRecord::decode(v.value()).map_err(|e| self.damaged(e))).transpose()
    }

    /// Every path whose bytes are owed, with the snapshot since when.
    pub fn pending(&self) -> Result<BTreeMap<String, u64>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let table = txn.open_table(PENDING).map_err(|e| self.db_err(e))?;
        let mut out = BTreeMap::new();
        for entry in table.iter().map_err(|e| self.db_err(e))? {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            out.insert(k.value().to_owned(), v.value());
        }
        Ok(out)
    }

    /// What was kept of snapshot `version`; `None`: it was not checked.
    pub fn snapshot(&self, version: u64) -> Result<Option<SnapshotInfo>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let table = txn.open_table(SNAPSHOTS).map_err(|e| self.db_err(e))?;
        let value = table.get(version).map_err(|e| self.db_err(e))?;
        value.map(|v| SnapshotInfo::decode(v.value()).map_err(|e| self.damaged(e))).transpose()
    }

    /// Every finding, with its sequence number.
    pub fn findings(&self) -> Result<Vec<(u64, StoredFinding)>, StateError> {
        let txn = self.db.begin_read().map_err(|e| self.db_err(e))?;
        let table = txn.open_table(FINDINGS).map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(|e| self.db_err(e))? {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            out.push((k.value(), serde_json::from_slice(v.value()).map_err(|e| self.damaged(e))?));
        }
        Ok(out)
    }

    /// Marks every open finding acknowledged and returns them.
    pub fn acknowledge_all(&self) -> Result<Vec<StoredFinding>, StateError> {
        let open: Vec<(u64, StoredFinding)> = self.findings()?.into_iter().filter(|(_, f)| !f.acknowledged).collect();
        let txn = self.db.begin_write().map_err(|e| self.db_err(e))?;
        {
            let mut table = txn.open_table(FINDINGS).map_err(|e| self.db_err(e))?;
            for (seq, finding) in &open {
                let acknowledged = StoredFinding { acknowledged: true, ..finding.clone() };
                let bytes = serde_json::to_vec(&acknowledged).map_err(|e| self.damaged(e))?;
                table.insert(*seq, bytes.as_slice()).map_err(|e| self.db_err(e))?;
            }
        }
        txn.commit().map_err(|e| self.db_err(e))?;
        Ok(open.into_iter().map(|(_, f)| f).collect())
    }

    /// Commits `batch` in one transaction (flushed to disk before this returns).
    pub fn commit(&self, batch: &Batch) -> Result<(), StateError> {
        let txn = self.db.begin_write().map_err(|e| self.db_err(e))?;
        {
            let mut roots = txn.open_table(ROOTS).map_err(|e| self.db_err(e))?;
            for (version, bytes) in &batch.roots {
                roots.insert(*version, bytes.as_slice()).map_err(|e| self.db_err(e))?;
            }
            let mut leaves = txn.open_table(LEAVES).map_err(|e| self.db_err(e))?;
            for (path, leaf) in &batch.leaves {
                match leaf {
                    Some((length, sha)) => leaves.insert(path.as_str(), encode_leaf(*length, sha).as_slice()).map(drop),
                    None => leaves.remove(path.as_str()).map(drop),
                }
                .map_err(|e| self.db_err(e))?;
            }
            let mut records = txn.open_table(RECORDS).map_err(|e| self.db_err(e))?;
            for (path, record) in &batch.records {
                match record {
                    Some(r) => records.insert(path.as_str(), r.encode().as_slice()).map(drop),
                    None => records.remove(path.as_str()).map(drop),
                }
                .map_err(|e| self.db_err(e))?;
            }
            let mut pending = txn.open_table(PENDING).map_err(|e| self.db_err(e))?;
            for (path, since) in &batch.pending {
                match since {
                    Some(since) => pending.insert(path.as_str(), *since).map(drop),
                    None => pending.remove(path.as_str()).map(drop),
                }
                .map_err(|e| self.db_err(e))?;
            }
            let mut snapshots = txn.open_table(SNAPSHOTS).map_err(|e| self.db_err(e))?;
            for (version, info) in &batch.snapshots {
                snapshots.insert(*version, info.encode().as_slice()).map_err(|e| self.db_err(e))?;
            }
            let mut findings = txn.open_table(FINDINGS).map_err(|e| self.db_err(e))?;
            let next = findings.last().map_err(|e| self.db_err(e))?.map_or(0, |(k, _)| k.value() + 1);
            for (seq, finding) in (next..).zip(&batch.findings) {
                let bytes = serde_json::to_vec(finding).map_err(|e| self.damaged(e))?;
                findings.insert(seq, bytes.as_slice()).map_err(|e| self.db_err(e))?;
            }
            if let Some(progress) = &batch.progress {
                let bytes = serde_json::to_vec(progress).map_err(|e| self.damaged(e))?;
                let mut meta = txn.open_table(META).map_err(|e| self.db_err(e))?;
                meta.insert(PROGRESS, bytes.as_slice()).map_err(|e| self.db_err(e))?;
            }
        }
        txn.commit().map_err(|e| self.db_err(e))
    }
}

/// The paths of `pending` (from the database) after `batch`'s changes.
pub fn pending_after(mut pending: BTreeMap<String, u64>, batch: &Batch) -> BTreeMap<String, u64> {
    for (path, since) in &batch.pending {
        match since {
            Some(since) => pending.insert(path.clone(), *since),
            None => pending.remove(path),
        };
    }
    pending
}

#[cfg(test)]
mod tests;
