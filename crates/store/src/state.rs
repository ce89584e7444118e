//! The state database (redb: embedded, transactional, one file). Values are JSON so that records
//! can grow fields without a migration.
//!
//! | table | key | value |
//! |---|---|---|
//! | `files` | sparse path | [`FileRecord`]: the current, validated file |
//! | `versions` | `crate \0 vers` | the `cksum` once published: never changes |
//! | `quarantine` | sparse path | [`QuarantineRecord`]: an upstream file held back |
//! | `snapshots` | snapshot version | [`SnapshotRecord`] |
//! | `meta` | name | counters, such as the current snapshot |

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::collections::BTreeMap;
use std::path::Path;
use tufmirror_core::Sha256Hash;

const FILES: TableDefinition<&str, &[u8]> = TableDefinition::new("files");
const VERSIONS: TableDefinition<&str, &str> = TableDefinition::new("versions");
const QUARANTINE: TableDefinition<&str, &[u8]> = TableDefinition::new("quarantine");
const SNAPSHOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("snapshots");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CURRENT: &str = "current_snapshot";

/// Why the state database failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed (opening, a transaction, a table).
    #[error("state database")]
    Db(#[from] redb::Error),
    /// A stored record does not decode (a damaged or newer-format database).
    #[error("state database record {key:?} is unreadable")]
    Record {
        /// The record's key (a path, or a snapshot version).
        key: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A batch would record another `cksum` for a published version (the store's own last guard).
    #[error("version {vers} of {krate} was published with cksum {published}; refusing to record {offered}")]
    HistoryConflict {
        /// The crate's name.
        krate: String,
        /// The version (`vers`).
        vers: String,
        /// The published `cksum`.
        published: String,
        /// The `cksum` offered.
        offered: String,
    },
}

impl StoreError {
    fn db(e: impl Into<redb::Error>) -> Self {
        StoreError::Db(e.into())
    }
}

/// The current file at a sparse path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The SHA-256 of the file's bytes: the name of its blob.
    pub sha256: Sha256Hash,
    /// The file's length in bytes.
    pub length: u64,
    /// Upstream's validators, when it sends them.
    pub etag: Option<String>,
    /// Upstream's `Last-Modified`, when it sends one.
    pub last_modified: Option<String>,
    /// Unix seconds of the last successful check against upstream.
    pub checked_at: i64,
}

/// An upstream file that would rewrite signed history, held until an operator decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// The SHA-256 of the file upstream offered: the name of its blob.
    pub sha256: Sha256Hash,
    /// Why it is held, in words (shown to the operator).
    pub reason: String,
    /// Unix seconds when the mirror first saw the file.
    pub detected_at: i64,
    /// An operator rejected this file: upstream offering the same bytes again is ignored, and
    /// the last good file stays served.
    #[serde(default)]
    pub rejected: bool,
}

/// A published snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// The snapshot version.
    pub version: u64,
    /// The version of the timestamp that published it.
    pub timestamp_version: u64,
    /// The snapshot's Merkle root.
    pub merkle_root: Sha256Hash,
    /// The snapshot's number of leaves.
    pub tree_size: u64,
    /// The blob holding the snapshot's leaf list.
    pub leaves: Sha256Hash,
    /// Unix seconds of publication.
    pub published_at: i64,
}

/// Changes committed together, or not at all.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// New or replaced files (`Some`) and files that leave the mirror (`None`).
    pub files: Vec<(String, Option<FileRecord>)>,
    /// Newly published versions: (crate, vers, cksum).
    pub versions: Vec<(String, String, String)>,
    /// Versions whose cksum an operator accepted to change (`tufmirror quarantine accept`): the
    /// only way a published cksum is ever replaced.
    pub replaced_versions: Vec<(String, String, String)>,
    /// Counters to set, such as the time of the last complete refresh.
    pub meta: Vec<(&'static str, u64)>,
    /// Quarantine records to write (`Some`) or clear (`None`), by path.
    pub quarantine: Vec<(String, Option<QuarantineRecord>)>,
    /// A snapshot that becomes the current one.
    pub snapshot: Option<SnapshotRecord>,
}

/// The daemon's state.
#[derive(Debug)]
pub struct StateDb {
    db: Database,
}

fn version_key(krate: &str, vers: &str) -> String {
    format!("{}\0{vers}", krate.to_ascii_lowercase())
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Record { key: key.to_owned(), source })
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Records are plain structs of strings and numbers: serializing them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

impl StateDb {
    /// Opens (or creates) the database file and its tables.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(StoreError::db)?;
        let txn = db.begin_write().map_err(StoreError::db)?;
        {
            txn.open_table(FILES).map_err(StoreError::db)?;
            txn.open_table(VERSIONS).map_err(StoreError::db)?;
            txn.open_table(QUARANTINE).map_err(StoreError::db)?;
            txn.open_table(SNAPSHOTS).map_err(StoreError::db)?;
            txn.open_table(META).map_err(StoreError::db)?;
        }
        txn.commit().map_err(StoreError::db)?;
        Ok(StateDb { db })
    }

    /// The current file at `path`, `None` when the mirror has none.
    pub fn file(&self, path: &str) -> Result<Option<FileRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(FILES).map_err(StoreError::db)?;
        table.get(path).map_err(StoreError::db)?.map(|v| decode(path, v.value())).transpose()
    }

    /// Every current file, sorted by path.
    pub fn files(&self) -> Result<Vec<(String, FileRecord)>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(FILES).map_err(StoreError::db)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(StoreError::db)? {
            let (k, v) = entry.map_err(StoreError::db)?;
            out.push((k.value().to_owned(), decode(k.value(), v.value())?));
        }
        Ok(out)
    }

    /// Every version of `krate` ever published, with its cksum.
    pub fn versions(&self, krate: &str) -> Result<BTreeMap<String, String>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(VERSIONS).map_err(StoreError::db)?;
        let start = version_key(krate, "");
        let end = format!("{}\u{1}", krate.to_ascii_lowercase());
        let mut out = BTreeMap::new();
        for entry in table.range(start.as_str()..end.as_str()).map_err(StoreError::db)? {
            let (k, v) = entry.map_err(StoreError::db)?;
            let vers = k.value().split_once('\0').map(|(_, v)| v.to_owned()).unwrap_or_default();
            out.insert(vers, v.value().to_owned());
        }
        Ok(out)
    }

    /// The cksum with which `vers` of `krate` was published, if it was.
    pub fn cksum(&self, krate: &str, vers: &str) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(VERSIONS).map_err(StoreError::db)?;
        Ok(table.get(version_key(krate, vers).as_str()).map_err(StoreError::db)?.map(|v| v.value().to_owned()))
    }

    /// Every version ever published: (crate, vers, cksum).
    pub fn all_versions(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(VERSIONS).map_err(StoreError::db)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(StoreError::db)? {
            let (k, v) = entry.map_err(StoreError::db)?;
            if let Some((krate, vers)) = k.value().split_once('\0') {
                out.push((krate.to_owned(), vers.to_owned(), v.value().to_owned()));
            }
        }
        Ok(out)
    }

    /// The quarantine record of `path`, `None` when none is held.
    pub fn quarantine_record(&self, path: &str) -> Result<Option<QuarantineRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(QUARANTINE).map_err(StoreError::db)?;
        table.get(path).map_err(StoreError::db)?.map(|v| decode(path, v.value())).transpose()
    }

    /// A counter from `meta`.
    pub fn meta(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::db)?;
        let meta = txn.open_table(META).map_err(StoreError::db)?;
        Ok(meta.get(name).map_err(StoreError::db)?.map(|v| v.value()))
    }

    /// Every published snapshot, oldest first.
    pub fn snapshots(&self) -> Result<Vec<SnapshotRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(SNAPSHOTS).map_err(StoreError::db)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(StoreError::db)? {
            let (k, v) = entry.map_err(StoreError::db)?;
            out.push(decode(&k.value().to_string(), v.value())?);
        }
        Ok(out)
    }

    /// Every quarantine record, by path, in path order.
    pub fn quarantined(&self) -> Result<Vec<(String, QuarantineRecord)>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(QUARANTINE).map_err(StoreError::db)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(StoreError::db)? {
            let (k, v) = entry.map_err(StoreError::db)?;
            out.push((k.value().to_owned(), decode(k.value(), v.value())?));
        }
        Ok(out)
    }

    /// The snapshot record of `version`, `None` when it was never published.
    pub fn snapshot(&self, version: u64) -> Result<Option<SnapshotRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(SNAPSHOTS).map_err(StoreError::db)?;
        table.get(version).map_err(StoreError::db)?.map(|v| decode(&version.to_string(), v.value())).transpose()
    }

    /// The snapshot being served, if any was published.
    pub fn current_snapshot(&self) -> Result<Option<SnapshotRecord>, StoreError> {
        let current = {
            let txn = self.db.begin_read().map_err(StoreError::db)?;
            let meta = txn.open_table(META).map_err(StoreError::db)?;
            meta.get(CURRENT).map_err(StoreError::db)?.map(|v| v.value())
        };
        match current {
            Some(v) => self.snapshot(v),
            None => Ok(None),
        }
    }

    /// Commits `batch` in one transaction. A version whose cksum differs from the one already
    /// published aborts the whole batch: history is checked before this, this is the backstop.
    pub fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(StoreError::db)?;
        {
            let mut versions = txn.open_table(VERSIONS).map_err(StoreError::db)?;
            for (krate, vers, cksum) in &batch.versions {
                let key = version_key(krate, vers);
                if let Some(published) = versions.get(key.as_str()).map_err(StoreError::db)? {
                    if published.value() != cksum {
                        return Err(StoreError::HistoryConflict {
                            krate: krate.clone(),
                            vers: vers.clone(),
                            published: published.value().to_owned(),
                            offered: cksum.clone(),
                        });
                    }
                    continue;
                }
                versions.insert(key.as_str(), cksum.as_str()).map_err(StoreError::db)?;
            }
            for (krate, vers, cksum) in &batch.replaced_versions {
                versions.insert(version_key(krate, vers).as_str(), cksum.as_str()).map_err(StoreError::db)?;
            }
            let mut files = txn.open_table(FILES).map_err(StoreError::db)?;
            for (path, record) in &batch.files {
                match record {
                    Some(r) => files.insert(path.as_str(), encode(r).as_slice()).map(drop),
                    None => files.remove(path.as_str()).map(drop),
                }
                .map_err(StoreError::db)?;
            }
            let mut quarantine = txn.open_table(QUARANTINE).map_err(StoreError::db)?;
            for (path, record) in &batch.quarantine {
                match record {
                    Some(r) => quarantine.insert(path.as_str(), encode(r).as_slice()).map(drop),
                    None => quarantine.remove(path.as_str()).map(drop),
                }
                .map_err(StoreError::db)?;
            }
            if let Some(snapshot) = &batch.snapshot {
                let mut snapshots = txn.open_table(SNAPSHOTS).map_err(StoreError::db)?;
                snapshots.insert(snapshot.version, encode(snapshot).as_slice()).map_err(StoreError::db)?;
                let mut meta = txn.open_table(META).map_err(StoreError::db)?;
                meta.insert(CURRENT, snapshot.version).map_err(StoreError::db)?;
            }
            let mut meta = txn.open_table(META).map_err(StoreError::db)?;
            for (name, value) in &batch.meta {
                meta.insert(*name, *value).map_err(StoreError::db)?;
            }
        }
        txn.commit().map_err(StoreError::db)
    }
}

#[cfg(test)]
mod tests;
