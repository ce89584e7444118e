//! [`Finding`]: one thing an auditor found wrong with a mirror's signed history, said so that a
//! person can act on it (which crate, which version, which two snapshots, what changed) and
//! serialized with a `kind` tag for machines.

use crate::Sha256Hash;
use crate::metadata::Role;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One violation of the rules of docs/audit.md. Snapshots are the mirror's snapshot versions;
/// `previous_snapshot` is the one the auditor compared against (for index contents: the last
/// snapshot whose bytes of that file it checked, which is the snapshot before unless the mirror
/// no longer served the bytes in between).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Finding {
    /// A published version is no longer in its crate's index file.
    VersionRemoved {
        #[serde(rename = "crate")]
        krate: String,
        version: String,
        cksum: String,
        path: String,
        previous_snapshot: u64,
        snapshot: u64,
    },
    /// A published version's `cksum` changed: cargo would accept different crate bytes.
    ChecksumChanged {
        #[serde(rename = "crate")]
        krate: String,
        version: String,
        previous_cksum: String,
        cksum: String,
        path: String,
        previous_snapshot: u64,
        snapshot: u64,
    },
    /// An index file left the mirror without a removal record signed by the targets role.
    RemovedWithoutRecord {
        #[serde(rename = "crate")]
        krate: String,
        path: String,
        previous_snapshot: u64,
        snapshot: u64,
        reason: String,
    },
    /// A removal record in snapshot `snapshot`'s targets metadata that its diff does not back
    /// (the path is not removed there, or the record names another snapshot).
    StrayRemovalRecord {
        #[serde(rename = "crate")]
        krate: String,
        path: String,
        snapshot: u64,
        record_snapshot: u64,
    },
    /// Metadata that the role's keys (under the root chain, never an older root's keys after a
    /// newer root was used) did not sign.
    NotSigned { file: String, role: Role, snapshot: u64, reason: String },
    /// Metadata that is signed but wrong: a version that is not the one its name or its pin
    /// says, hashes that do not match, a missing `x-tufmirror-removals`.
    BadMetadata { file: String, snapshot: u64, reason: String },
    /// A file of signed history that the mirror must serve forever is missing.
    MissingHistory { file: String, snapshot: u64 },
    /// A diff that does not apply to the snapshot before it, or gives another root than it says.
    InvalidDiff { snapshot: u64, previous_snapshot: u64, reason: String },
    /// A timestamp whose `merkle_root` or `merkle_tree_size` is not what the snapshot it names
    /// recomputes to.
    RootMismatch {
        timestamp_version: u64,
        snapshot: u64,
        signed_root: Option<Sha256Hash>,
        computed_root: Sha256Hash,
        signed_size: Option<u64>,
        computed_size: u64,
    },
    /// A timestamp that names an older snapshot than the timestamp before it.
    SnapshotRollback { timestamp_version: u64, snapshot: u64, previous_timestamp_version: u64, previous_snapshot: u64 },
    /// Two different timestamps with the same version (the current one and the one in history).
    ConflictingTimestamps { timestamp_version: u64, snapshot: u64 },
    /// An index file that is not a valid index file of its crate.
    InvalidIndexFile {
        #[serde(rename = "crate")]
        krate: String,
        path: String,
        snapshot: u64,
        reason: String,
    },
}

/// The crate name an index path holds: its last segment (index paths are lowercase).
pub fn crate_of(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

impl Finding {
    /// The snapshot in which the violation appears.
    pub fn snapshot(&self) -> u64 {
        match self {
            Finding::VersionRemoved { snapshot, .. }
            | Finding::ChecksumChanged { snapshot, .. }
            | Finding::RemovedWithoutRecord { snapshot, .. }
            | Finding::StrayRemovalRecord { snapshot, .. }
            | Finding::NotSigned { snapshot, .. }
            | Finding::BadMetadata { snapshot, .. }
            | Finding::MissingHistory { snapshot, .. }
            | Finding::InvalidDiff { snapshot, .. }
            | Finding::RootMismatch { snapshot, .. }
            | Finding::SnapshotRollback { snapshot, .. }
            | Finding::ConflictingTimestamps { snapshot, .. }
            | Finding::InvalidIndexFile { snapshot, .. } => *snapshot,
        }
    }

    /// The `kind` tag, for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::VersionRemoved { .. } => "version_removed",
            Finding::ChecksumChanged { .. } => "checksum_changed",
            Finding::RemovedWithoutRecord { .. } => "removed_without_record",
            Finding::StrayRemovalRecord { .. } => "stray_removal_record",
            Finding::NotSigned { .. } => "not_signed",
            Finding::BadMetadata { .. } => "bad_metadata",
            Finding::MissingHistory { .. } => "missing_history",
            Finding::InvalidDiff { .. } => "invalid_diff",
            Finding::RootMismatch { .. } => "root_mismatch",
            Finding::SnapshotRollback { .. } => "snapshot_rollback",
            Finding::ConflictingTimestamps { .. } => "conflicting_timestamps",
            Finding::InvalidIndexFile { .. } => "invalid_index_file",
        }
    }
}

fn opt<T: fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "none".to_owned(), ToString::to_string)
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::VersionRemoved { krate, version, cksum, path, previous_snapshot, snapshot } => write!(
                f,
                "crate {krate} version {version} disappeared between snapshots {previous_snapshot} and {snapshot} \
                 (cksum {cksum}, file {path})"
            ),
            Finding::ChecksumChanged { krate, version, previous_cksum, cksum, path, previous_snapshot, snapshot } => {
                write!(
                    f,
                    "crate {krate} version {version} changed its cksum between snapshots {previous_snapshot} and \
                     {snapshot}: {previous_cksum} -> {cksum} (file {path})"
                )
            }
            Finding::RemovedWithoutRecord { krate, path, previous_snapshot, snapshot, reason } => write!(
                f,
                "crate {krate} ({path}) vanished between snapshots {previous_snapshot} and {snapshot} without a \
                 removal record signed by the targets role: {reason}"
            ),
            Finding::StrayRemovalRecord { krate, path, snapshot, record_snapshot } => write!(
                f,
                "snapshot {snapshot}'s targets metadata has a removal record for crate {krate} ({path}, record \
                 of snapshot {record_snapshot}) that its diff does not back"
            ),
            Finding::NotSigned { file, role, snapshot, reason } => {
                write!(f, "{file} (snapshot {snapshot}) is not signed by the {role} role: {reason}")
            }
            Finding::BadMetadata { file, snapshot, reason } => write!(f, "{file} (snapshot {snapshot}): {reason}"),
            Finding::MissingHistory { file, snapshot } => {
                write!(f, "{file} (snapshot {snapshot}) is missing: signed history must be kept forever")
            }
            Finding::InvalidDiff { snapshot, previous_snapshot, reason } => {
                write!(f, "the diff from snapshot {previous_snapshot} to {snapshot} is wrong: {reason}")
            }
            Finding::RootMismatch {
                timestamp_version,
                snapshot,
                signed_root,
                computed_root,
                signed_size,
                computed_size,
            } => write!(
                f,
                "timestamp version {timestamp_version} signs merkle_root {} (size {}) for snapshot {snapshot}, \
                 but snapshot {snapshot} recomputes to {computed_root} (size {computed_size})",
                opt(signed_root),
                opt(signed_size)
            ),
            Finding::SnapshotRollback {
                timestamp_version,
                snapshot,
                previous_timestamp_version,
                previous_snapshot,
            } => {
                write!(
                    f,
                    "timestamp version {timestamp_version} names snapshot {snapshot}, older than snapshot \
                     {previous_snapshot} named by timestamp version {previous_timestamp_version}: a rollback"
                )
            }
            Finding::ConflictingTimestamps { timestamp_version, snapshot } => write!(
                f,
                "two different timestamps have version {timestamp_version} (the current one and history's; \
                 snapshot {snapshot})"
            ),
            Finding::InvalidIndexFile { krate, path, snapshot, reason } => {
                write!(f, "crate {krate}'s index file {path} in snapshot {snapshot} is not valid: {reason}")
            }
        }
    }
}
