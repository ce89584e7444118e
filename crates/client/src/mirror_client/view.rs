//! [`TrustedView`]: what one complete refresh of a tufmirror mirror's metadata establishes, in the
//! shape the TAP-16 checks need. Built from an [`Updater`] after a refresh; immutable, shared.

use super::RefreshError;
use crate::Updater;
use std::sync::Arc;
use time::OffsetDateTime;
use tufmirror_core::Sha256Hash;
use tufmirror_core::binding::{RootChain, check_current};
use tufmirror_core::metadata::{Metadata, RemovalRecord, TargetFile, Timestamp};

/// The Merkle tree a timestamp signs for a snapshot: once trusted, a later timestamp naming the
/// same snapshot must sign the same tree (docs/POUF.md 2.4: a re-signed timestamp carries the
/// same `merkle_root`). Otherwise the timestamp key alone could swap the tree under an unchanged
/// snapshot, for example to drop a crate without the removal record only the targets key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TreePin {
    pub snapshot_version: u64,
    pub merkle_root: Sha256Hash,
    pub tree_size: u64,
}

impl TreePin {
    /// The pin of a timestamp, if it is a TAP-16 timestamp.
    pub(crate) fn of(timestamp: &Timestamp) -> Option<TreePin> {
        Some(TreePin {
            snapshot_version: timestamp.snapshot_version()?,
            merkle_root: timestamp.merkle_root?,
            tree_size: timestamp.merkle_tree_size?,
        })
    }
}

/// The verified state of a mirror after a complete refresh: the snapshot that proofs are checked
/// against, until when it may be used, and what the targets role signed for it.
#[derive(Debug, Clone)]
pub struct TrustedView {
    /// The snapshot the timestamp names (`N` in docs/POUF.md).
    pub snapshot_version: u64,
    /// The version of the trusted timestamp.
    pub timestamp_version: u64,
    /// The timestamp's `merkle_root`: the root of snapshot `snapshot_version`'s tree.
    pub merkle_root: Sha256Hash,
    /// The timestamp's `merkle_tree_size`: the number of leaves in that tree.
    pub tree_size: u64,
    /// The earliest expiry of root, timestamp, snapshot and targets: after it, nothing here may
    /// be relied on until a refresh succeeds.
    pub expires: OffsetDateTime,
    /// The `config.json` target.
    pub config: TargetFile,
    /// The removal records of this snapshot's targets metadata.
    pub removals: Vec<RemovalRecord>,
    /// The version of the trusted root, which this snapshot's timestamp, snapshot and targets
    /// metadata are bound to (`x-tufmirror-root-version`, docs/POUF.md 1.9).
    pub root_version: u64,
    /// The roots verified up to the trusted one: older snapshot and targets metadata (removal
    /// checks) is verified with the root it is bound to.
    pub(crate) roots: Arc<RootChain>,
}

impl TrustedView {
    /// The view of `updater` after a successful refresh. `pin` is the tree last trusted (from a
    /// previous refresh or the stored timestamp); a timestamp that names the same snapshot with a
    /// different tree is refused. Timestamp, snapshot and targets must be bound to the trusted
    /// root (docs/POUF.md 1.9, rule a).
    pub(crate) fn of(updater: &Updater, pin: Option<&TreePin>) -> Result<Self, RefreshError> {
        let (Some(timestamp), Some(snapshot), Some(targets)) =
            (updater.timestamp(), updater.snapshot(), updater.targets())
        else {
            return Err(RefreshError::Incomplete);
        };
        let root = updater.trusted().root();
        let new = TreePin::of(timestamp).ok_or(RefreshError::NotTap16)?;
        if let Some(old) = pin
            && old.snapshot_version == new.snapshot_version
            && old != &new
        {
            return Err(RefreshError::TreeChanged {
                timestamp: timestamp.version,
                snapshot: new.snapshot_version,
                found: new.merkle_root.to_hex(),
                found_size: new.tree_size,
                trusted: old.merkle_root.to_hex(),
                trusted_size: old.tree_size,
            });
        }
        check_current(timestamp, "timestamp.json", root.version)?;
        check_current(snapshot, &format!("{}.snapshot.json", snapshot.version), root.version)?;
        check_current(targets, &format!("{}.targets.json", targets.version), root.version)?;
        let config = targets.targets.get("config.json").cloned().ok_or(RefreshError::NoConfigTarget)?;
        let expires = [root.expires(), timestamp.expires, snapshot.expires, targets.expires]
            .into_iter()
            .min()
            .unwrap_or(timestamp.expires);
        Ok(TrustedView {
            snapshot_version: new.snapshot_version,
            timestamp_version: timestamp.version,
            merkle_root: new.merkle_root,
            tree_size: new.tree_size,
            expires,
            config,
            removals: targets.removals.clone(),
            root_version: root.version,
            roots: Arc::new(updater.root_chain().clone()),
        })
    }

    pub(crate) fn pin(&self) -> TreePin {
        TreePin { snapshot_version: self.snapshot_version, merkle_root: self.merkle_root, tree_size: self.tree_size }
    }
}
