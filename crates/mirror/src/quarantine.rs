//! The operator's side of the quarantine: list what upstream tried to rewrite, accept a file (its
//! changed versions are then published with their new cksum) or reject it (the last good file
//! stays served, and upstream offering the same bytes again is ignored).
//!
//! Contract: a decision is one publish (accepting) or one database transaction (rejecting);
//! a crash before it leaves the file in quarantine, to be decided again. Safe to call while the
//! daemon runs: publishes are serialized by the publisher.

use crate::changes::Changes;
use crate::clock::Clock;
use crate::publisher::{PublishError, Publisher};
use crate::storage::Storage;
use serde::Serialize;
use std::sync::Arc;
use tufmirror_index::{crate_of_path, validate_index_file};
use tufmirror_store::{FileRecord, StoreError};

/// One quarantined file, as `tufmirror quarantine list` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QuarantineEntry {
    /// The index file's path (`se/rd/serde`).
    pub path: String,
    /// SHA-256 of upstream's held file, hex.
    pub sha256: String,
    /// How it rewrites published history.
    pub reason: String,
    /// When upstream first offered it (Unix seconds).
    pub detected_at: i64,
    /// The operator rejected it: upstream offering the same bytes again is ignored.
    pub rejected: bool,
}

/// Why a quarantine decision failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuarantineError {
    /// No file is quarantined for this index path (the path).
    #[error("{0} is not in quarantine")]
    NotQuarantined(String),
    /// The held file is missing from the blob store or is not a valid index file.
    #[error("the quarantined file for {path} is unreadable: {reason}")]
    Unreadable {
        /// The index file's path.
        path: String,
        /// What is wrong with the held file.
        reason: String,
    },
    /// The state database failed.
    #[error("state database")]
    Store(#[from] StoreError),
    /// Publishing the accepted file failed; it stays in quarantine.
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// The quarantine (see the module documentation).
#[derive(Debug)]
pub struct Quarantine {
    storage: Arc<Storage>,
    publisher: Arc<Publisher>,
    clock: Arc<dyn Clock>,
}

impl Quarantine {
    /// The quarantine of `storage`, published through `publisher`.
    pub fn new(storage: Arc<Storage>, publisher: Arc<Publisher>, clock: Arc<dyn Clock>) -> Quarantine {
        Quarantine { storage, publisher, clock }
    }

    /// Every quarantined file, rejected ones included.
    pub fn list(&self) -> Result<Vec<QuarantineEntry>, QuarantineError> {
        Ok(self
            .storage
            .db
            .quarantined()?
            .into_iter()
            .map(|(path, q)| QuarantineEntry {
                path,
                sha256: q.sha256.to_hex(),
                reason: q.reason,
                detected_at: q.detected_at,
                rejected: q.rejected,
            })
            .collect())
    }

    /// Publishes the quarantined file at `path` as the crate's file.
    pub async fn accept(&self, path: &str) -> Result<u64, QuarantineError> {
        let q =
            self.storage.db.quarantine_record(path)?.ok_or_else(|| QuarantineError::NotQuarantined(path.to_owned()))?;
        let unreadable = |reason: String| QuarantineError::Unreadable { path: path.to_owned(), reason };
        let name = crate_of_path(path).map_err(|e| unreadable(e.to_string()))?;
        let bytes = self.storage.blobs.get(&q.sha256).map_err(|e| unreadable(e.to_string()))?;
        let lines = validate_index_file(&bytes, &name).map_err(|e| unreadable(e.to_string()))?;
        let published = self.storage.db.versions(name.as_str())?;
        let krate = name.lowercase();
        let mut changes = Changes::default();
        for line in lines {
            match published.get(&line.vers) {
                None => changes.versions.push((krate.clone(), line.vers, line.cksum)),
                Some(old) if *old != line.cksum => {
                    changes.replaced_versions.push((krate.clone(), line.vers, line.cksum))
                }
                Some(_) => {}
            }
        }
        let record = FileRecord {
            sha256: q.sha256,
            length: bytes.len() as u64,
            etag: None,
            last_modified: None,
            checked_at: self.clock.now_unix(),
        };
        changes.files.push((path.to_owned(), Some(record)));
        changes.quarantine.push((path.to_owned(), None));
        let _guard = self.storage.blob_guard.read().await;
        Ok(self.publisher.apply(changes, false).await?.version())
    }

    /// Keeps the last good file; the same upstream bytes are ignored from now on.
    pub async fn reject(&self, path: &str) -> Result<(), QuarantineError> {
        let mut q =
            self.storage.db.quarantine_record(path)?.ok_or_else(|| QuarantineError::NotQuarantined(path.to_owned()))?;
        q.rejected = true;
        let changes = Changes { quarantine: vec![(path.to_owned(), Some(q))], ..Changes::default() };
        self.publisher.apply(changes, false).await?;
        Ok(())
    }
}
