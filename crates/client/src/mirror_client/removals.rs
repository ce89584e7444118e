//! Removal records (docs/POUF.md 1.6): a path verified present in snapshot M and proven absent in
//! snapshot N > M must have left with a record signed by the targets role.
//!
//! What is checked, newest snapshot first, for each K in (M, N] (at most
//! [`MirrorConfig::max_removal_search`](super::MirrorConfig::max_removal_search) of them):
//! - K = N: the records of the targets metadata of the trusted refresh;
//! - K < N: `tuf/K.snapshot.json`, of version K, signed by a threshold of the snapshot keys of the
//!   root it is bound to; the `targets.json` version T it names, `tuf/T.targets.json`, with the
//!   length and hashes that snapshot K pins, of version T, signed by a threshold of the targets
//!   keys of the root it is bound to.
//!
//! Which root (docs/POUF.md 1.9, rule b): the one named by `x-tufmirror-root-version` (root 1
//! without the field), which must be in the client's verified chain, not newer than the trusted
//! root, and not older than the root that snapshot M was accepted under. So a removal signed
//! before a targets-key rotation is confirmed with the old key, while a record forged with a
//! key retired before M cannot claim an old root for a snapshot after M.
//!
//! The path passes when one of these lists a record for it whose `snapshot_version` is in (M, N].
//! Expiry is not checked for K < N: the metadata of an old snapshot states what happened then.
//! The set of paths seen present lives in memory, so a client that restarts checks only removals
//! it sees happen (and its root chain starts at its stored root, which is enough: every M it
//! checks from was accepted under that root or a newer one).

use super::check::removal_recorded;
use super::{MirrorClient, MirrorError, Refusal, RemovalMetadataProblem, TrustedView};
use std::sync::Arc;
use tufmirror_core::binding::{Floor, RootBound};
use tufmirror_core::metadata::{Metadata, RemovalRecord, Role, Snapshot, Targets};
use tufmirror_core::verify::{RoleVerifier, parse_unverified};

/// The verified removal records of one older snapshot, with the lowest root its snapshot and
/// targets metadata are bound to (a later search from a higher floor checks it again).
pub(super) type VerifiedRemovals = (Arc<[RemovalRecord]>, u64);

/// Verified removal records kept per snapshot (old snapshots' records never change).
const CACHED_SNAPSHOTS: usize = 256;

impl MirrorClient {
    /// Refuses unless a removal record covers `path` in (`present`, `absent`]; `present` is the
    /// snapshot (and the root it was accepted under) in which `path` was verified present, `view`
    /// the trusted view of snapshot `absent`.
    pub(super) async fn require_removal(
        &self,
        path: &str,
        present: Floor,
        absent: u64,
        view: &TrustedView,
    ) -> Result<(), MirrorError> {
        let (floor, present) = (present, present.snapshot);
        let searched = self.config.max_removal_search.max(1);
        let oldest = (present + 1).max(absent.saturating_sub(searched - 1));
        for k in (oldest..=absent).rev() {
            let records = if k == view.snapshot_version {
                Arc::from(view.removals.as_slice())
            } else {
                self.removals_of(path, k, view, floor).await?
            };
            if removal_recorded(&records, path, present, absent) {
                tracing::info!(path, present, absent, removed_in = k, "removal record found");
                return Ok(());
            }
        }
        Err(self.refused(path, view, Refusal::NoRemovalRecord { present, absent }))
    }

    /// The removal records of snapshot `k`'s targets metadata, verified as the module says.
    async fn removals_of(
        &self,
        path: &str,
        k: u64,
        view: &TrustedView,
        floor: Floor,
    ) -> Result<Arc<[RemovalRecord]>, MirrorError> {
        let refused = |file: &str, reason: RemovalMetadataProblem| {
            self.refused(path, view, Refusal::RemovalMetadata { file: file.to_owned(), reason })
        };
        let snapshot_name = format!("{k}.snapshot.json");
        if let Some((records, bound)) = self.removal_cache().get(&k).cloned() {
            if bound < floor.root {
                let e = tufmirror_core::binding::BindingError::Decreasing {
                    file: snapshot_name.clone(),
                    found: bound,
                    floor: floor.root,
                    accepted: floor.snapshot,
                };
                return Err(refused(&snapshot_name, RemovalMetadataProblem::Binding(e)));
            }
            return Ok(records);
        }
        let bytes = self.fetch_tuf(path, &snapshot_name, self.config.updater.snapshot_max_length).await?;
        let (snapshot, snapshot_root) =
            verify_bound::<Snapshot>(&bytes, &snapshot_name, view, floor).map_err(|r| refused(&snapshot_name, r))?;
        if snapshot.version != k {
            return Err(refused(&snapshot_name, RemovalMetadataProblem::Version(snapshot.version)));
        }
        let meta = snapshot
            .meta
            .get("targets.json")
            .ok_or_else(|| refused(&snapshot_name, RemovalMetadataProblem::NoTargets))?;
        let targets_name = format!("{}.targets.json", meta.version);
        let limit = meta.length.unwrap_or(self.config.updater.targets_max_length);
        let bytes = self.fetch_tuf(path, &targets_name, limit).await?;
        meta.verify(&bytes).map_err(|e| refused(&targets_name, RemovalMetadataProblem::NotAsListed(e)))?;
        let (targets, targets_root) =
            verify_bound::<Targets>(&bytes, &targets_name, view, floor).map_err(|r| refused(&targets_name, r))?;
        if targets.version != meta.version {
            return Err(refused(&targets_name, RemovalMetadataProblem::Version(targets.version)));
        }
        let records: Arc<[RemovalRecord]> = targets.removals.into();
        let mut cache = self.removal_cache();
        cache.insert(k, (records.clone(), snapshot_root.min(targets_root)));
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
                reason: Refusal::RemovalMetadata { file: name.to_owned(), reason: RemovalMetadataProblem::Missing },
            }
        })
    }
}

/// Older metadata of the kind `T`, verified with the keys of the root it is bound to (rule b of
/// docs/POUF.md 1.9); returns it and that root's version, or why it is refused.
fn verify_bound<T: Metadata + RootBound>(
    bytes: &[u8],
    file: &str,
    view: &TrustedView,
    floor: Floor,
) -> Result<(T, u64), RemovalMetadataProblem> {
    let (unverified, signed_bytes) = parse_unverified::<T>(bytes).map_err(RemovalMetadataProblem::Malformed)?;
    let root = view.roots.historical(&unverified.signed, file, floor).map_err(RemovalMetadataProblem::Binding)?;
    let role: Role = T::ROLE;
    let keys = RoleVerifier::from_root(root, role)
        .map_err(|source| RemovalMetadataProblem::RootKeys { root_version: root.version, source })?;
    keys.verify(&signed_bytes, &unverified.signatures).map_err(|source| RemovalMetadataProblem::Signatures {
        role,
        root_version: root.version,
        source,
    })?;
    Ok((unverified.signed, root.version))
}
