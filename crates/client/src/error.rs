//! What can go wrong in a refresh or a download. Each variant names the file, URL or path it is
//! about; the reason is its `source` (print the chain, as the CLI does with `{:#}`).

use crate::fetch::FetchError;
use std::path::PathBuf;
use tufmirror_core::hash::DigestMismatch;
use tufmirror_core::trusted::TrustError;

/// Why a refresh, a target lookup or a download failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A file could not be fetched (including: it does not exist, it is larger than its limit).
    #[error("cannot fetch {url}")]
    Fetch {
        /// The URL fetched.
        url: String,
        /// What failed.
        #[source]
        source: FetchError,
    },
    /// Metadata was fetched (or read from the metadata folder) but is not trustworthy.
    #[error("{file} refused")]
    Refused {
        /// The metadata file (`timestamp.json`, `2.root.json`, ...).
        file: String,
        /// Why it is not trusted.
        #[source]
        source: Box<TrustError>,
    },
    /// The metadata folder could not be read or written.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done (`read`, `write`, ...).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// No trusted root in the metadata folder: the client was never initialised.
    #[error("no trusted root at {}: initialise the client with a root first", path.display())]
    NoTrustedRoot {
        /// Where the trusted root was looked for.
        path: PathBuf,
    },
    /// A downloaded target does not match its signed description.
    #[error("target {path} from {url} does not match its signed length and hashes")]
    TargetMismatch {
        /// The target path.
        path: String,
        /// The URL it was downloaded from.
        url: String,
        /// Which of length and hashes differ.
        #[source]
        source: DigestMismatch,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client")]
    Http(#[source] FetchError),
}

impl ClientError {
    /// The trust failure behind a [`ClientError::Refused`].
    pub fn trust_error(&self) -> Option<&TrustError> {
        match self {
            ClientError::Refused { source, .. } => Some(source),
            _ => None,
        }
    }

    /// Whether this is a fetch that the server answered with "not found" (404 or 403).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Fetch { source: FetchError::NotFound { .. }, .. })
    }
}
