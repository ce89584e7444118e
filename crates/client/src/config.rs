//! The limits an [`Updater`](crate::Updater) works within.

/// Limits and choices of an [`Updater`](crate::Updater). The defaults are python-tuf's
/// (`ngclient.UpdaterConfig`), except `max_root_rotations`, which is the specification's 32
/// (python-tuf 7 allows 256): a client more than 32 root versions behind should be re-shipped
/// with a newer root rather than walk the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdaterConfig {
    /// How many root versions one refresh may step through.
    pub max_root_rotations: u64,
    /// How many delegated roles one target search may visit.
    pub max_delegations: usize,
    /// Size limits of metadata files whose length no other metadata pins, in bytes: `N.root.json`.
    pub root_max_length: u64,
    /// The largest `timestamp.json` accepted, in bytes.
    pub timestamp_max_length: u64,
    /// The largest `snapshot.json` accepted when the timestamp pins no length, in bytes.
    pub snapshot_max_length: u64,
    /// The largest targets metadata accepted when the snapshot pins no length, in bytes.
    pub targets_max_length: u64,
    /// With consistent snapshots, fetch targets as `DIR/HASH.NAME` (the specification's layout)
    /// rather than `DIR/NAME`.
    pub prefix_targets_with_hash: bool,
}

impl Default for UpdaterConfig {
    fn default() -> Self {
        UpdaterConfig {
            max_root_rotations: 32,
            max_delegations: 32,
            root_max_length: 512_000,
            timestamp_max_length: 16_384,
            snapshot_max_length: 2_000_000,
            targets_max_length: 5_000_000,
            prefix_targets_with_hash: true,
        }
    }
}
