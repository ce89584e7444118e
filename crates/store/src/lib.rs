//! Where the daemon keeps what it has mirrored: index files and `.crate` files by content hash
//! ([`blobs`]), and the state that says which file is current, what every published version's
//! checksum was, what is quarantined and which snapshot is served ([`state`]).
//!
//! Blobs are written (and flushed) before the database transaction that refers to them commits,
//! and the database is the only place that says what is current: a crash at any point leaves the
//! last committed state, whose files are all on disk.

#![warn(missing_docs)]

pub mod blobs;
pub mod state;

pub use blobs::BlobStore;
pub use state::{Batch, FileRecord, QuarantineRecord, SnapshotRecord, StateDb, StoreError};
