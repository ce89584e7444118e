//! Why a check of a crate failed, grouped by who is at fault.
//!
//! Error policy of this crate:
//! - Every failure is a typed enum with `thiserror`: a variant says who is at fault (upstream,
//!   our storage, the operator's configuration, shutdown) and carries its context (the crate, the
//!   path, the key) and the underlying error as its `source`. No `String` errors: a caller decides
//!   by matching, never by reading text.
//! - `Display` says what was being done, in the operator's words; the cause is the `source`.
//!   Print the whole chain with [`crate::error_chain`].
//! - The engine logs what it decided (a quarantine, a file kept served despite a failure) at the
//!   point of decision, once; it does not log an error it returns. The front ends (the daemon's
//!   HTTP routes, the CLI) turn returned errors into answers in one place each.
//! - A failure never changes what is served: the last good snapshot stays current.

use std::sync::Arc;
use std::time::Duration;
use tufmirror_index::IndexFileError;
use tufmirror_store::StoreError;
use tufmirror_upstream::UpstreamError;

/// Why the mirror has nothing to serve for a crate after checking it (or why it did not check).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// Upstream failed (network, 5xx, timeouts), or asked for a pause.
    #[error("upstream failed")]
    Upstream(#[source] UpstreamError),
    /// Upstream's index file is not a valid one.
    #[error("upstream's index file for {name} is invalid")]
    InvalidFile {
        /// The crate.
        name: String,
        /// What is wrong with it.
        #[source]
        source: IndexFileError,
    },
    /// Upstream's file rewrites signed history and is held in quarantine.
    #[error("upstream's file of {name} breaks the history rule and is held in quarantine")]
    HistoryRewritten {
        /// The crate.
        name: String,
    },
    /// The state database failed.
    #[error("state database")]
    Database(#[source] StoreError),
    /// A blob could not be read or stored.
    #[error("{action} {path}")]
    Blob {
        /// "reading" or "storing".
        action: &'static str,
        /// The index path (or what the blob holds).
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Publishing the batch that held this check failed.
    #[error("publishing failed")]
    Publish(#[source] Arc<crate::publisher::PublishError>),
    /// Not asked upstream now: its pause, the name's spent requests, a full queue. Answered
    /// with a 503 and `Retry-After`, never a 404.
    #[error("not asked upstream now; retry in {retry_after:?}")]
    NotAsked {
        /// How long to wait.
        retry_after: Duration,
    },
    /// Waiting for upstream took longer than the request may.
    #[error("timed out waiting for upstream")]
    TimedOut,
    /// The mirror is shutting down.
    #[error("the mirror is shutting down")]
    ShuttingDown,
}

impl CheckError {
    /// Whether upstream is at fault (as opposed to this mirror or its shutdown).
    pub fn is_upstream(&self) -> bool {
        matches!(self, Self::Upstream(_) | Self::InvalidFile { .. } | Self::HistoryRewritten { .. } | Self::TimedOut)
    }
}
