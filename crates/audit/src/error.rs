//! Why an audit could not be done (as opposed to findings, which are what a done audit says).

use crate::state_folder::StateError;
use std::path::PathBuf;
use tufmirror_client::FetchError;
use tufmirror_signer::SignerError;

/// Why the auditor could not audit: the mirror could not be read, its answers could not be
/// understood, or the state folder or the signing key failed. A scheduler should alert on these
/// as well as on findings (`tufmirror audit` exits 2 for these, 1 for findings).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    #[error("fetching {url}")]
    Fetch {
        url: String,
        #[source]
        source: FetchError,
    },
    #[error("{url} is not usable: {reason}")]
    Unusable { url: String, reason: String },
    #[error("the state folder")]
    State(#[from] StateError),
    #[error(
        "the state folder {dir} is new: give the root to trust (--root 1.root.json, the mirror's first root, \
         to audit all of history)"
    )]
    NoTrustAnchor { dir: PathBuf },
    #[error("the trusted root is not usable: {reason}")]
    BadTrustAnchor { reason: String },
    #[error("the state folder {dir} belongs to mirror {theirs}, not {ours}")]
    OtherMirror { dir: PathBuf, theirs: String, ours: String },
    #[error("the state folder {dir} is damaged: {reason}")]
    Damaged { dir: PathBuf, reason: String },
    #[error("signing the attestation")]
    Sign(#[source] SignerError),
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("a background task failed")]
    Task(#[source] tokio::task::JoinError),
}
