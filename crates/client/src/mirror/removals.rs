//! Removal records (docs/POUF.md 1.6): a path verified present in snapshot M and proven absent in
//! snapshot N > M must have left with a record signed by the targets role.
//!
//! What is checked, newest snapshot first, for each K in (M, N] (at most
//! [`MirrorConfig::max_removal_search`](super::MirrorConfig::max_removal_search) of them):
//! - K = N: the records of the targets metadata of the trusted refresh;
//! - K < N: `tuf/K.snapshot.json`, signed by a threshold of the snapshot keys of the trusted root
//!   and of version K; the `targets.json` version T it names, `tuf/T.targets.json`, with the length
//!   and hashes that snapshot K pins, signed by a threshold of the trusted root's targets keys and
//!   of version T.
//!
//! The path passes when one of these lists a record for it whose `snapshot_version` is in (M, N].
//! Expiry is not checked for K < N: the metadata of an old snapshot states what happened then,
//! and it is bound to the current metadata through the trusted root's keys. Consequences: after a
//! rotation of the snapshot or targets keys, older metadata no longer verifies and a removal from
//! before the rotation cannot be confirmed (refused, with the reason); the set of paths seen
//! present lives in memory, so a client that restarts checks only removals it sees happen.

use super::check::removal_recorded;
use super::{MirrorClient, MirrorError, Refusal, TrustedView};
use std::sync::Arc;
use tufmirror_core::metadata::{RemovalRecord, Snapshot, Targets};
use tufmirror_core::verify::parse_verified;

/// Verified removal records kept per snapshot (old snapshots' records never change).
const CACHED_SNAPSHOTS: usize = 256;

impl MirrorClient {
    /// Refuses unless a removal record covers `path` in (`present`, `absent`]; `view` is the
    /// trusted view of snapshot `absent`.
    pub(super) async fn require_removal(
        &self,
        path: &str,
        present: u64,
        absent: u64,
        view: &TrustedView,
    ) -> Result<(), MirrorError> {
        let searched = self.config.max_removal_search.max(1);
        let oldest = (present + 1).max(absent.saturating_sub(searched - 1));
        for k in (oldest..=absent).rev() {
            let records = if k == view.snapshot_version {
                Arc::from(view.removals.as_slice())
            } else {
                self.removals_of(path, k, view).await?
            };
            if removal_recorded(&records, path, present, absent) {
                tracing::info!(path, present, absent, removed_in = k, "removal record found");
                return Ok(());
            }
        }
        Err(self.refused(path, view, Refusal::NoRemovalRecord { present, absent }))
    }

    /// The removal records of snapshot `k`'s targets metadata, verified as the module says.
    async fn removals_of(&self, path: &str, k: u64, view: &TrustedView) -> Result<Arc<[RemovalRecord]>, MirrorError> {
        if let Some(records) = self.removal_cache().get(&k) {
            return Ok(records.clone());
        }
        let refused = |file: &str, reason: String| {
            self.refused(path, view, Refusal::RemovalMetadata { file: file.to_owned(), reason })
        };
        let snapshot_name = format!("{k}.snapshot.json");
        let bytes = self.fetch_tuf(path, &snapshot_name, self.config.updater.snapshot_max_length).await?;
        let snapshot = parse_verified::<Snapshot>(&bytes, &view.snapshot_keys)
            .map_err(|e| refused(&snapshot_name, e.to_string()))?
            .signed;
        if snapshot.version != k {
            return Err(refused(&snapshot_name, format!("it has version {}", snapshot.version)));
        }
        let meta = snapshot
            .meta
            .get("targets.json")
            .ok_or_else(|| refused(&snapshot_name, "it names no targets.json".into()))?;
        let targets_name = format!("{}.targets.json", meta.version);
        let limit = meta.length.unwrap_or(self.config.updater.targets_max_length);
        let bytes = self.fetch_tuf(path, &targets_name, limit).await?;
        meta.verify(&bytes).map_err(|e| refused(&targets_name, e.to_string()))?;
        let targets = parse_verified::<Targets>(&bytes, &view.targets_keys)
            .map_err(|e| refused(&targets_name, e.to_string()))?
            .signed;
        if targets.version != meta.version {
            return Err(refused(&targets_name, format!("it has version {}", targets.version)));
        }
        let records: Arc<[RemovalRecord]> = targets.removals.into();
        let mut cache = self.removal_cache();
        cache.insert(k, records.clone());
        while cache.len() > CACHED_SNAPSHOTS {
            cache.pop_first();
        }
        Ok(records)
    }

    /// A metadata file from `tuf/`; a missing one is refused (metadata is kept forever).
    async fn fetch_tuf(&self, path: &str, name: &str, max_length: u64) -> Result<Vec<u8>, MirrorError> {
        let url = format!("{}tuf/{name}", self.base);
        self.fetch_optional(path, &url, max_length).await?.ok_or_else(|| {
            let view = self.view();
            MirrorError::Refused {
                path: path.to_owned(),
                snapshot: view.map_or(0, |v| v.snapshot_version),
                reason: Refusal::RemovalMetadata {
                    file: name.to_owned(),
                    reason: "the mirror does not have it".into(),
                },
            }
        })
    }
}
