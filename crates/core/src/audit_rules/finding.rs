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
        /// The crate's name (`crate` in JSON).
        #[serde(rename = "crate")]
        krate: String,
        /// The version (`vers`) that is gone.
        version: String,
        /// The `cksum` it had: the SHA-256 of its `.crate` file, hex.
        cksum: String,
        /// The index file's path.
        path: String,
        /// The snapshot that still listed the version.
        previous_snapshot: u64,
        /// The snapshot that no longer lists it.
        snapshot: u64,
    },
    /// A published version's `cksum` changed: cargo would accept different crate bytes.
    ChecksumChanged {
        /// The crate's name (`crate` in JSON).
        #[serde(rename = "crate")]
        krate: String,
        /// The version (`vers`) whose checksum changed.
        version: String,
        /// The `cksum` in `previous_snapshot`.
        previous_cksum: String,
        /// The `cksum` in `snapshot`.
        cksum: String,
        /// The index file's path.
        path: String,
        /// The snapshot with the old checksum.
        previous_snapshot: u64,
        /// The snapshot with the new checksum.
        snapshot: u64,
    },
    /// An index file left the mirror without a removal record signed by the targets role.
    RemovedWithoutRecord {
        /// The crate's name (`crate` in JSON).
        #[serde(rename = "crate")]
        krate: String,
        /// The index file's path.
        path: String,
        /// The last snapshot that held the file.
        previous_snapshot: u64,
        /// The snapshot without it.
        snapshot: u64,
        /// What is missing or wrong about the record, in words.
        reason: String,
    },
    /// A removal record in snapshot `snapshot`'s targets metadata that its diff does not back
    /// (the path is not removed there, or the record names another snapshot).
    StrayRemovalRecord {
        /// The crate's name (`crate` in JSON).
        #[serde(rename = "crate")]
        krate: String,
        /// The path the record names.
        path: String,
        /// The snapshot whose targets metadata carries the record.
        snapshot: u64,
        /// The record's own `snapshot_version`.
        record_snapshot: u64,
    },
    /// Metadata that the role's keys (under the root chain, never an older root's keys after a
    /// newer root was used) did not sign.
    NotSigned {
        /// The metadata file's path on the mirror.
        file: String,
        /// The role that should have signed it.
        role: Role,
        /// The snapshot the file belongs to.
        snapshot: u64,
        /// Why the signatures do not count, in words.
        reason: String,
    },
    /// Metadata that is signed but wrong: a version that is not the one its name or its pin
    /// says, hashes that do not match, a missing `x-tufmirror-removals`.
    BadMetadata {
        /// The metadata file's path on the mirror.
        file: String,
        /// The snapshot the file belongs to.
        snapshot: u64,
        /// What is wrong, in words.
        reason: String,
    },
    /// A file of signed history that the mirror must serve forever is missing.
    MissingHistory {
        /// The missing file's path on the mirror.
        file: String,
        /// The snapshot the file belongs to.
        snapshot: u64,
    },
    /// A diff that does not apply to the snapshot before it, or gives another root than it says.
    InvalidDiff {
        /// The snapshot the diff leads to.
        snapshot: u64,
        /// The snapshot the diff starts from.
        previous_snapshot: u64,
        /// What does not apply or match, in words.
        reason: String,
    },
    /// A timestamp whose `merkle_root` or `merkle_tree_size` is not what the snapshot it names
    /// recomputes to.
    RootMismatch {
        /// The timestamp's `version`.
        timestamp_version: u64,
        /// The snapshot version the timestamp names.
        snapshot: u64,
        /// The timestamp's `merkle_root`; `None` when it has none.
        signed_root: Option<Sha256Hash>,
        /// The root the auditor computed from the snapshot's leaves.
        computed_root: Sha256Hash,
        /// The timestamp's `merkle_tree_size`; `None` when it has none.
        signed_size: Option<u64>,
        /// The number of leaves the auditor counted.
        computed_size: u64,
    },
    /// A timestamp that names an older snapshot than the timestamp before it.
    SnapshotRollback {
        /// The later timestamp's `version`.
        timestamp_version: u64,
        /// The snapshot version it names.
        snapshot: u64,
        /// The earlier timestamp's `version`.
        previous_timestamp_version: u64,
        /// The (newer) snapshot version the earlier timestamp named.
        previous_snapshot: u64,
    },
    /// Two different timestamps with the same version (the current one and the one in history).
    ConflictingTimestamps {
        /// The version both timestamps carry.
        timestamp_version: u64,
        /// The snapshot version the current timestamp names.
        snapshot: u64,
    },
    /// An index file that is not a valid index file of its crate.
    InvalidIndexFile {
        /// The crate's name (`crate` in JSON).
        #[serde(rename = "crate")]
        krate: String,
        /// The index file's path.
        path: String,
        /// The snapshot that holds the file.
        snapshot: u64,
        /// Why the file is not valid, in words.
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
