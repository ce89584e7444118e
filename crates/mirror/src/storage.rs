//! What the engine keeps on disk, opened once: the data folder, the state database, the blob
//! store of index files and the store of verified `.crate` files.
//!
//! Contract:
//! - Blobs are content-addressed and written before anything refers to them. A check stores the
//!   new index file's blob *deferred* (not flushed); the publish that refers to it flushes the
//!   whole store once before its database commit, so after a crash every committed snapshot's
//!   blobs are on disk and an uncommitted one's leftovers are harmless garbage.
//! - [`Storage::blob_guard`] orders blob writers against garbage collection: checks hold it
//!   shared from storing a blob until the publish that refers to it; garbage collection holds it
//!   exclusively, so it never removes a blob that is about to be used.
//! - Safe to share between tasks: the database serializes its own transactions.

use crate::datadir::DataDir;
use std::sync::Arc;
use tufmirror_store::{BlobStore, StateDb};

/// The `meta` counter holding the end of the last complete refresh (Unix seconds); 0 asks for a
/// refresh now.
pub const LAST_REFRESH: &str = "last_refresh";

/// The data folder's stores.
#[derive(Debug)]
pub struct Storage {
    /// Where everything lives.
    pub dir: DataDir,
    /// Current snapshot, file records, published versions, quarantine.
    pub db: Arc<StateDb>,
    /// Index files and leaf lists, by SHA-256.
    pub blobs: BlobStore,
    /// Verified `.crate` files, by SHA-256 (their signed `cksum`).
    pub crates: BlobStore,
    /// See the module documentation.
    pub blob_guard: tokio::sync::RwLock<()>,
}

impl Storage {
    /// Opens (creating) the stores of `dir`, whose folder exists.
    pub fn open(dir: DataDir) -> Result<Storage, StorageError> {
        let db = Arc::new(StateDb::open(&dir.state_db())?);
        let io =
            |path: std::path::PathBuf| move |source| StorageError::Folder { path: path.display().to_string(), source };
        let blobs = BlobStore::open(dir.blobs()).map_err(io(dir.blobs()))?;
        let crates = BlobStore::open(dir.crates()).map_err(io(dir.crates()))?;
        Ok(Storage { dir, db, blobs, crates, blob_guard: tokio::sync::RwLock::new(()) })
    }
}

/// Why the stores could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A store's folder cannot be created or read.
    #[error("cannot use {path}")]
    Folder {
        /// The folder.
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The state database cannot be opened.
    #[error("state database")]
    Db(#[from] tufmirror_store::StoreError),
}
