//! What can go wrong when a [`MirrorClient`](super::MirrorClient) checks an answer.
//!
//! Three kinds of failure are kept apart because what to do next differs: the mirror could not be
//! reached or had a server error ([`MirrorError::is_transient`]: asking again later may help), the
//! mirror answered something that its signed metadata does not vouch for ([`MirrorError::Refused`]:
//! an attack, or a broken mirror; asking again does not help), and the metadata itself could not
//! be refreshed ([`MirrorError::Refresh`], either kind, see its source).

use crate::{ClientError, FetchError};
use std::sync::Arc;
use tufmirror_core::Sha256Hash;
use tufmirror_core::binding::BindingError;
use tufmirror_core::hash::DigestMismatch;
use tufmirror_core::merkle::{LeafError, ProofError};
use tufmirror_core::metadata::Role;
use tufmirror_core::verify::VerifyError;
use tufmirror_core::wire::ProofHeaderError;
use tufmirror_index::PathError;

/// Why an index file, a 404 or `config.json` from a mirror is not passed on. Every variant names
/// the index path it is about (`config.json` for the configuration); [`MirrorError::Refused`]
/// also names the trusted snapshot that the answer was checked against.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// Not a path where cargo looks for an index file: nothing to ask the mirror.
    #[error("{path:?} is not a sparse-index path")]
    NotAnIndexPath {
        /// The path asked for.
        path: String,
        /// Why it is not an index path.
        #[source]
        source: PathError,
    },
    /// The answer does not match what the signed metadata of snapshot `snapshot` says.
    #[error("{path}: refused (trusted snapshot {snapshot})")]
    Refused {
        /// The index path (`config.json` for the configuration).
        path: String,
        /// The trusted snapshot version the answer was checked against.
        snapshot: u64,
        /// Why it was refused.
        #[source]
        reason: Refusal,
    },
    /// The request did not complete (connection, timeout, a body over the size limit).
    #[error("{path}: cannot fetch {url}")]
    Fetch {
        /// The index path.
        path: String,
        /// The URL fetched.
        url: String,
        /// What failed.
        #[source]
        source: FetchError,
    },
    /// The mirror answered with a status that carries no verifiable statement.
    #[error("{path}: the mirror answered HTTP {status} for {url}")]
    Status {
        /// The index path.
        path: String,
        /// The URL fetched.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The TUF metadata could not be refreshed, and what is trusted does not suffice (none yet,
    /// expired, or older than what the answer needs).
    #[error("{path}: cannot refresh the mirror's TUF metadata")]
    Refresh {
        /// The index path.
        path: String,
        /// Why the refresh failed.
        #[source]
        source: Arc<RefreshError>,
    },
    /// The trusted metadata expired (a freeze attack, or a mirror that stopped signing) and a
    /// refresh failed: nothing can be verified until one succeeds.
    #[error("{path}: the trusted metadata expired at {expires} and cannot be refreshed")]
    Expired {
        /// The index path.
        path: String,
        /// When the trusted metadata expired, as TUF writes times (`2026-01-01T00:00:00Z`).
        expires: String,
        /// Why the refresh failed.
        #[source]
        source: Arc<RefreshError>,
    },
}

impl MirrorError {
    /// Whether asking again later may succeed: the mirror was unreachable, timed out or answered
    /// with a server error (or 429). Never true for an answer that failed verification.
    pub fn is_transient(&self) -> bool {
        match self {
            MirrorError::Fetch { source, .. } => fetch_is_transient(source),
            MirrorError::Status { status, .. } => status_is_transient(*status),
            MirrorError::Refresh { source, .. } | MirrorError::Expired { source, .. } => match source.as_ref() {
                RefreshError::Metadata(ClientError::Fetch { source, .. })
                | RefreshError::AttestationFetch { source, .. } => fetch_is_transient(source),
                _ => false,
            },
            MirrorError::NotAnIndexPath { .. } | MirrorError::Refused { .. } => false,
        }
    }

    /// The index path (or `config.json`) the error is about.
    pub fn path(&self) -> &str {
        match self {
            MirrorError::NotAnIndexPath { path, .. }
            | MirrorError::Refused { path, .. }
            | MirrorError::Fetch { path, .. }
            | MirrorError::Status { path, .. }
            | MirrorError::Refresh { path, .. }
            | MirrorError::Expired { path, .. } => path,
        }
    }

    /// The refusal reason, for [`MirrorError::Refused`].
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            MirrorError::Refused { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

fn status_is_transient(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

fn fetch_is_transient(e: &FetchError) -> bool {
    match e {
        FetchError::Timeout | FetchError::Other(_) => true,
        FetchError::Status { status } => status_is_transient(*status),
        _ => false,
    }
}

/// Why an answer was refused: the reason part of [`MirrorError::Refused`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The answer has no `TUF-Merkle-Proof` header.
    #[error("the answer carries no {} header", tufmirror_core::wire::PROOF_HEADER)]
    NoProof,
    /// The `TUF-Merkle-Proof` header does not parse (docs/POUF.md 2.2).
    #[error("the proof is not a valid proof: {0}")]
    BadProof(#[source] ProofHeaderError),
    /// The proof does not lead to the signed `merkle_root`, or does not prove what the answer says.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The proof is for a snapshot older than the trusted one.
    #[error("the proof is for snapshot {proof}, older than the trusted snapshot {trusted} (rollback or mix-and-match)")]
    OlderSnapshot {
        /// The snapshot version the proof names.
        proof: u64,
        /// The trusted snapshot version.
        trusted: u64,
    },
    /// The proof is for a newer snapshot than the mirror's signed timestamp names, even after a refresh.
    #[error("the proof is for snapshot {proof}, but the mirror's signed timestamp names snapshot {signed}")]
    UnsignedSnapshot {
        /// The snapshot version the proof names.
        proof: u64,
        /// The snapshot version the signed timestamp names.
        signed: u64,
    },
    /// A 304 answered a request that sent no `If-None-Match`.
    #[error("the mirror answered 304 Not Modified to a request without If-None-Match")]
    UnaskedNotModified,
    /// A 304's proof vouches for another file than the one whose ETag was sent.
    #[error("the mirror answered 304 Not Modified for {sent}, but the proof vouches for {proven}")]
    EtagMismatch {
        /// The ETag sent in `If-None-Match`.
        sent: String,
        /// The ETag of the leaf the proof vouches for.
        proven: String,
    },
    /// A 404 (or 403) came without a proof for a file the trusted snapshot lists.
    #[error("the mirror answered {status} without a proof, but snapshot {snapshot} lists the file (a hidden file)")]
    HiddenFile {
        /// The HTTP status.
        status: u16,
        /// The trusted snapshot version that lists the file.
        snapshot: u64,
    },
    /// The snapshot the answer needs is no longer served under `snapshots/N/`, and no newer one is
    /// signed.
    #[error("snapshot {snapshot} is no longer readable under snapshots/{snapshot}/, and no newer one is signed")]
    SnapshotGone {
        /// The snapshot version.
        snapshot: u64,
    },
    /// The snapshot's leaf list (`snapshots/N/leaves.json`) is refused.
    #[error("snapshot {snapshot}'s leaf list does not match its signed timestamp: {reason}")]
    LeafList {
        /// The snapshot version.
        snapshot: u64,
        /// What is wrong with the list.
        reason: LeafListProblem,
    },
    /// A file verified present is now absent, and no signed removal record covers its removal.
    #[error(
        "it was verified present in snapshot {present} and is absent from snapshot {absent}, but no removal \
         record signed by the targets role covers it in snapshots {present} < N <= {absent}"
    )]
    NoRemovalRecord {
        /// The snapshot version in which the file was last verified present.
        present: u64,
        /// The snapshot version in which it is proven absent.
        absent: u64,
    },
    /// Targets metadata that carries removal records could not be fetched or checked.
    #[error("{file} cannot be checked for removal records: {reason}")]
    RemovalMetadata {
        /// The metadata file.
        file: String,
        /// What is wrong with it.
        reason: RemovalMetadataProblem,
    },
    /// `config.json` differs from the `config.json` target's signed length or hashes.
    #[error("config.json does not match the config.json target of the signed targets metadata")]
    Config(#[source] DigestMismatch),
    /// The `config.json` target is signed without a `sha256` hash, so it cannot be checked.
    #[error("the config.json target of the signed targets metadata has no sha256 hash")]
    NoConfigHash,
}

/// Why a snapshot's leaf list (`snapshots/N/leaves.json`, docs/POUF.md 1.6) is refused: the
/// reason of [`Refusal::LeafList`]. `Clone` because the verdict on the current snapshot's list
/// is kept and given to every request that needs it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LeafListProblem {
    /// Not a leaf list: the JSON parser's error.
    #[error("{0}")]
    NotJson(#[source] Arc<serde_json::Error>),
    /// Its header names another snapshot, size or root than the signed timestamp.
    #[error("it says snapshot {snapshot} with {tree_size} leaves and root {merkle_root}")]
    Header {
        /// Its `snapshot_version`.
        snapshot: u64,
        /// Its `tree_size`.
        tree_size: u64,
        /// Its `merkle_root`.
        merkle_root: Sha256Hash,
    },
    /// Its leaves are not strictly ascending by path, or too many: the tree builder's error.
    #[error("{0}")]
    Leaves(#[source] LeafError),
    /// Its leaves do not rebuild the signed tree.
    #[error("its leaves give root {root} with {leaves} leaves")]
    WrongTree {
        /// The root its leaves give.
        root: Sha256Hash,
        /// The number of its leaves.
        leaves: usize,
    },
    /// Longer than the signed number of leaves can take; reading stopped at `limit` bytes.
    #[error(
        "it is longer than {limit} bytes, more than the signed {tree_size} leaves can take (reading stopped there)"
    )]
    TooLong {
        /// The bytes read at most.
        limit: u64,
        /// The signed `merkle_tree_size`.
        tree_size: u64,
    },
    /// A file's proof verifies against the tree the list rebuilds, but names another leaf than
    /// the list gives the file.
    #[error("{path} differs from its leaf")]
    DiffersFromLeaf {
        /// The index path.
        path: String,
    },
}

/// Why the metadata that holds removal records (an older `N.snapshot.json` or `N.targets.json`,
/// docs/POUF.md 1.9) cannot be used: the reason of [`Refusal::RemovalMetadata`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemovalMetadataProblem {
    /// The mirror does not serve it.
    #[error("the mirror does not have it")]
    Missing,
    /// It is not metadata of its kind.
    #[error("{0}")]
    Malformed(#[source] VerifyError),
    /// Its root binding (`x-tufmirror-root-version`) is refused.
    #[error("{0}")]
    Binding(#[source] BindingError),
    /// The root it is bound to has no usable keys for its role.
    #[error("root {root_version}: {source}")]
    RootKeys {
        /// The root it is bound to.
        root_version: u64,
        /// Why that root's keys cannot verify it.
        #[source]
        source: VerifyError,
    },
    /// The keys of the root it is bound to did not sign it.
    #[error("{source} (the {role} keys of root {root_version}, which it is bound to)")]
    Signatures {
        /// Its role.
        role: Role,
        /// The root it is bound to.
        root_version: u64,
        /// Why the signatures do not verify.
        #[source]
        source: VerifyError,
    },
    /// Its bytes do not match what the snapshot metadata lists for it.
    #[error("{0}")]
    NotAsListed(#[source] DigestMismatch),
    /// Its `version` is not the one asked for or listed.
    #[error("it has version {0}")]
    Version(u64),
    /// A snapshot that lists no `targets.json`.
    #[error("it names no targets.json")]
    NoTargets,
}

/// Why the TUF metadata could not be refreshed into something a TAP-16 client can use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The TUF client workflow failed (fetch, or metadata refused).
    #[error(transparent)]
    Metadata(#[from] ClientError),
    /// The timestamp has no `merkle_root` and `merkle_tree_size`.
    #[error("the timestamp has no merkle_root and merkle_tree_size: not a TAP-16 (tufmirror) repository")]
    NotTap16,
    /// A new timestamp signs a different tree for a snapshot version already trusted.
    #[error(
        "timestamp version {timestamp} signs snapshot {snapshot} with Merkle root {found} ({found_size} leaves), \
         but that snapshot was trusted with root {trusted} ({trusted_size} leaves)"
    )]
    TreeChanged {
        /// The new timestamp's version.
        timestamp: u64,
        /// The snapshot version it names.
        snapshot: u64,
        /// The `merkle_root` it signs (hex).
        found: String,
        /// The `merkle_tree_size` it signs.
        found_size: u64,
        /// The `merkle_root` trusted for that snapshot (hex).
        trusted: String,
        /// The `merkle_tree_size` trusted for that snapshot.
        trusted_size: u64,
    },
    /// No refresh has completed yet, or the last one left timestamp, snapshot or targets unset.
    #[error("the refresh did not complete")]
    Incomplete,
    /// Current metadata not bound to the root it is verified with (docs/POUF.md 1.9).
    #[error(transparent)]
    RootBinding(#[from] BindingError),
    /// The signed targets metadata has no `config.json` target.
    #[error("the signed targets metadata has no config.json target")]
    NoConfigTarget,
    /// The trusted root does not define the keys and threshold of a role.
    #[error("root metadata does not give the keys of a role")]
    RootKeys(#[source] VerifyError),
    /// With `--require-audit`: the snapshot is not attested by the auditors the root declares
    /// (`x-tufmirror-auditors`).
    #[error("snapshot {snapshot} is not attested by the auditors that root declares (--require-audit)")]
    NotAudited {
        /// The snapshot version.
        snapshot: u64,
        /// Why its attestations do not count.
        #[source]
        source: tufmirror_core::audit_rules::AttestationError,
    },
    /// With `--require-audit`: an attestation could not be fetched.
    #[error("fetching the attestation {url}")]
    AttestationFetch {
        /// The attestation URL.
        url: String,
        /// What failed.
        #[source]
        source: FetchError,
    },
}

/// The error and its causes in one line (for log lines and the one-line bodies the proxy sends
/// cargo).
pub use tufmirror_core::error_chain as one_line;
