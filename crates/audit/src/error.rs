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
    /// A file of the mirror could not be fetched.
    #[error("fetching {url}")]
    Fetch {
        /// The URL fetched.
        url: String,
        /// What failed.
        #[source]
        source: FetchError,
    },
    /// A file of the mirror was fetched but is not what it must be (does not parse, fails a signature
    /// or hash check, too large).
    #[error("{url} is not usable: {reason}")]
    Unusable {
        /// The URL fetched.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The state folder could not be opened, read or written.
    #[error("the state folder")]
    State(#[from] StateError),
    /// The state folder is new and no root to trust was given.
    #[error(
        "the state folder {dir} is new: give the root to trust (--root 1.root.json, the mirror's first root, \
         to audit all of history)"
    )]
    NoTrustAnchor {
        /// The state folder.
        dir: PathBuf,
    },
    /// The root given to trust does not parse or does not verify with its own keys.
    #[error("the trusted root is not usable: {reason}")]
    BadTrustAnchor {
        /// Why.
        reason: String,
    },
    /// The state folder was made for another mirror's base URL.
    #[error("the state folder {dir} belongs to mirror {theirs}, not {ours}")]
    OtherMirror {
        /// The state folder.
        dir: PathBuf,
        /// The mirror recorded in the state.
        theirs: String,
        /// The mirror this run was given.
        ours: String,
    },
    /// The state folder contradicts itself (no progress record, leaves that do not recompute its root,
    /// a stored root that does not parse).
    #[error("the state folder {dir} is damaged: {reason}")]
    Damaged {
        /// The state folder.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The signing key refused to sign, or its signature did not verify.
    #[error("signing the attestation")]
    Sign(#[source] SignerError),
    /// The attestation or the report could not be written.
    #[error("writing {path}")]
    Write {
        /// The file written.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// A blocking task (hashing, database work) panicked or was cancelled.
    #[error("a background task failed")]
    Task(#[source] tokio::task::JoinError),
}
