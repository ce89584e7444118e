//! A TUF client: the I/O around `tufmirror_core::trusted`.
//!
//! [`Updater`] keeps the client's trusted metadata in a folder (`root.json`, `timestamp.json`,
//! `snapshot.json`, `targets.json` and one `ROLE.json` per delegated role, names
//! percent-encoded), fetches newer metadata through a [`Fetcher`] (HTTP with [`HttpFetcher`]),
//! checks each file with the core crate's [`TrustedSet`](tufmirror_core::trusted::TrustedSet),
//! persists what it accepted, finds targets through delegations, and downloads targets whose
//! length and hashes match. The workflow and its order are the specification's (section 5) and
//! python-tuf's `ngclient.Updater`, whose behaviour the TUF conformance suite measures; the
//! rules themselves live in the core crate, so this crate decides only what to fetch, what to
//! keep, and what to delete.
//!
//! Every download has a size limit that is enforced while the body streams (a response that
//! never ends is cut off at the limit, not buffered), and the HTTP client has connect and read
//! timeouts.
//!
//! On top of the updater, [`MirrorClient`] is the TAP-16 client of a tufmirror mirror: it checks
//! every index file, 304 and 404 against the Merkle root that the verified timestamp signs
//! (see [`mirror_client`]). [`dirs`] has the per-user folders the command-line tools default to.

#![warn(missing_docs)]

pub mod attestations;
mod config;
pub mod dirs;
mod error;
mod fetch;
pub mod mirror_client;
mod store;
mod updater;

pub use config::UpdaterConfig;
pub use error::ClientError;
pub use fetch::{FetchError, Fetcher, HttpAnswer, HttpConfig, HttpFetcher, IndexFetcher, PROOF_HEADER};
pub use mirror_client::{IndexFile, MirrorClient, MirrorConfig, MirrorError, SnapshotReport, TrustedView};
pub use store::{MetadataDir, encode_name};
pub use updater::{TargetInfo, Updater};
