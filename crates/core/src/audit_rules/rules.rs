//! The rules that need no index contents: who signed what under the root chain, removal records
//! against diffs, and the timestamp sequence (docs/audit.md, "What is checked").

use super::finding::{Finding, crate_of};
use crate::Sha256Hash;
use crate::metadata::{Role, Root, Signature, Targets, Timestamp};
use crate::verify::{count_valid_signatures, usable_keys};
use std::collections::BTreeSet;

/// The newest root of `chain` (sorted by version) whose `role` keys reach their threshold over
/// `signed_bytes`, looking no further back than root version `at_least`: once a role's metadata
/// was signed under root version r, metadata that only keys of roots before r can sign is
/// refused, so that a key a root rotation retired cannot sign history again.
pub fn signing_root(
    chain: &[Root],
    at_least: u64,
    role: Role,
    signed_bytes: &[u8],
    signatures: &[Signature],
) -> Option<u64> {
    chain.iter().rev().take_while(|root| root.version >= at_least).find_map(|root| {
        let entry = root.roles.get(role.name())?;
        let keys = usable_keys(&root.keys, &entry.keyids);
        let valid = count_valid_signatures(&keys, signed_bytes, signatures);
        (entry.threshold > 0 && valid >= entry.threshold).then_some(root.version)
    })
}

/// The root that verifies `role` metadata of the mirror's history (docs/POUF.md 1.9): the one
/// its `x-tufmirror-root-version` names (`binding`; root 1 without the field), which must be in
/// `chain` (sorted by version) and not older than `at_least`, the root the role's earlier
/// metadata was bound to (bindings never decrease). `Err`: why the binding is wrong;
/// `Ok(None)`: that root's `role` keys do not reach their threshold over `signed_bytes`.
pub fn bound_root(
    chain: &[Root],
    at_least: u64,
    role: Role,
    binding: Option<u64>,
    signed_bytes: &[u8],
    signatures: &[Signature],
) -> Result<Option<u64>, BoundRootError> {
    let bound = binding.unwrap_or(crate::binding::UNBOUND_ROOT);
    let newest = chain.last().map_or(0, |r| r.version);
    if bound > newest {
        return Err(BoundRootError::Newer { bound, newest });
    }
    if bound < at_least {
        return Err(BoundRootError::Decreasing { bound, at_least, role });
    }
    let Some(root) = chain.iter().find(|r| r.version == bound) else {
        return Err(BoundRootError::UnknownRoot { bound });
    };
    let Some(entry) = root.roles.get(role.name()) else { return Ok(None) };
    let keys = usable_keys(&root.keys, &entry.keyids);
    let valid = count_valid_signatures(&keys, signed_bytes, signatures);
    Ok((entry.threshold > 0 && valid >= entry.threshold).then_some(bound))
}

/// Why a metadata file's root binding (`x-tufmirror-root-version`, docs/POUF.md 1.9) is wrong:
/// the `Err` of [`bound_root`]. `bound` is the root version the file is bound to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundRootError {
    /// Bound to a root newer than the newest root of the chain.
    #[error("it is bound to root {bound}, newer than the newest root {newest}")]
    Newer {
        /// The root version the file is bound to.
        bound: u64,
        /// The newest root version of the chain.
        newest: u64,
    },
    /// Bound to a root older than the one the role's earlier metadata is bound to.
    #[error(
        "it is bound to root {bound}, older than root {at_least} that earlier {role} metadata is bound to \
         (bindings never decrease)"
    )]
    Decreasing {
        /// The root version the file is bound to.
        bound: u64,
        /// The root version the role's earlier metadata is bound to.
        at_least: u64,
        /// The role of the file.
        role: Role,
    },
    /// Bound to a root version that the chain does not hold.
    #[error("it is bound to root {bound}, which is not in the root chain")]
    UnknownRoot {
        /// The root version the file is bound to.
        bound: u64,
    },
}

/// Snapshot `snapshot`'s removal records (the targets metadata it names, parsed from `file`)
/// against its diff's `removed` (docs/POUF.md 1.6): exactly one record per removed path, each
/// with `snapshot_version` = `snapshot`, and no other records. `has_field`: whether the targets
/// metadata carries `x-tufmirror-removals` at all (it must, even when empty); `signed`: whether
/// the targets role signed it (records in unsigned metadata count for nothing).
pub fn check_removals(
    snapshot: u64,
    removed: &[String],
    targets: &Targets,
    has_field: bool,
    signed: bool,
    file: &str,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if !has_field {
        findings.push(Finding::BadMetadata {
            file: file.to_owned(),
            snapshot,
            reason: "targets metadata has no x-tufmirror-removals (it must list this snapshot's removals, \
                     even when there are none)"
                .to_owned(),
        });
    }
    let records: BTreeSet<&str> = if signed {
        targets.removals.iter().filter(|r| r.snapshot_version == snapshot).map(|r| r.path.as_str()).collect()
    } else {
        BTreeSet::new()
    };
    for path in removed {
        if !records.contains(path.as_str()) {
            let reason = if !signed && targets.removals.iter().any(|r| r.path == *path) {
                format!("its record in {file} is not signed by the targets role")
            } else {
                format!("{file} has no record of it for snapshot {snapshot}")
            };
            findings.push(Finding::RemovedWithoutRecord {
                krate: crate_of(path),
                path: path.clone(),
                previous_snapshot: snapshot.saturating_sub(1),
                snapshot,
                reason,
            });
        }
    }
    let removed: BTreeSet<&str> = removed.iter().map(String::as_str).collect();
    for record in targets.removals.iter().filter(|_| signed) {
        if record.snapshot_version != snapshot || !removed.contains(record.path.as_str()) {
            findings.push(Finding::StrayRemovalRecord {
                krate: crate_of(&record.path),
                path: record.path.clone(),
                snapshot,
                record_snapshot: record.snapshot_version,
            });
        }
    }
    findings
}

/// What the auditor knows of the timestamp before the one being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousTimestamp {
    /// The timestamp's `version`.
    pub version: u64,
    /// The snapshot version it named.
    pub snapshot: u64,
}

/// Timestamp `version` (already verified as signed by the timestamp role) against the one before
/// it and against the snapshot it names, whose recomputed root and size are `computed`:
/// snapshots only move forward, and the signed `merkle_root` and `merkle_tree_size` are the
/// recomputed ones.
pub fn check_timestamp(
    version: u64,
    timestamp: &Timestamp,
    previous: PreviousTimestamp,
    computed: (Sha256Hash, u64),
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let snapshot = timestamp.snapshot_version().unwrap_or(0);
    if timestamp.version != version {
        findings.push(Finding::BadMetadata {
            file: format!("history/{version}.timestamp.json"),
            snapshot,
            reason: format!("it is timestamp version {}, not {version}", timestamp.version),
        });
    }
    if snapshot < previous.snapshot {
        findings.push(Finding::SnapshotRollback {
            timestamp_version: version,
            snapshot,
            previous_timestamp_version: previous.version,
            previous_snapshot: previous.snapshot,
        });
    }
    let (root, size) = computed;
    if timestamp.merkle_root != Some(root) || timestamp.merkle_tree_size != Some(size) {
        findings.push(Finding::RootMismatch {
            timestamp_version: version,
            snapshot,
            signed_root: timestamp.merkle_root,
            computed_root: root,
            signed_size: timestamp.merkle_tree_size,
            computed_size: size,
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::RemovalRecord;

    fn root(version: u64) -> Root {
        serde_json::from_value(serde_json::json!({
            "_type": "root", "spec_version": "1.0.31", "version": version, "expires": "2030-01-01T00:00:00Z",
            "consistent_snapshot": true, "keys": {}, "roles": {}
        }))
        .expect("root")
    }

    #[test]
    fn history_is_verified_with_the_root_it_is_bound_to_and_bindings_never_decrease() {
        let chain: Vec<Root> = (1..=3).map(root).collect();
        let bound = |at_least, binding| bound_root(&chain, at_least, Role::Targets, binding, b"{}", &[]);
        let e = bound(2, Some(1)).expect_err("decreasing");
        assert_eq!(e, BoundRootError::Decreasing { bound: 1, at_least: 2, role: Role::Targets });
        assert!(e.to_string().contains("bound to root 1, older than root 2"), "{e}");
        let e = bound(2, None).expect_err("no field: root 1");
        assert_eq!(e, BoundRootError::Decreasing { bound: 1, at_least: 2, role: Role::Targets });
        let e = bound(0, Some(4)).expect_err("future");
        assert_eq!(e, BoundRootError::Newer { bound: 4, newest: 3 });
        assert!(e.to_string().contains("bound to root 4, newer than the newest root 3"), "{e}");
        assert_eq!(bound(2, Some(2)), Ok(None), "root 2 lists no targets key: not signed");
        let later: Vec<Root> = (2..=3).map(root).collect();
        let e = bound_root(&later, 0, Role::Targets, Some(1), b"{}", &[]).expect_err("unknown");
        assert_eq!(e, BoundRootError::UnknownRoot { bound: 1 });
        assert!(e.to_string().contains("not in the root chain"), "{e}");
    }

    fn targets(records: &[(&str, u64)]) -> Targets {
        serde_json::from_value(serde_json::json!({
            "_type": "targets", "spec_version": "1.0.31", "version": 1, "expires": "2030-01-01T00:00:00Z",
            "targets": {},
            "x-tufmirror-removals": records.iter().map(|(p, n)| RemovalRecord {
                path: (*p).to_owned(), snapshot_version: *n, reason: "test".into()
            }).collect::<Vec<_>>(),
        }))
        .expect("targets")
    }

    #[test]
    fn removals_must_match_the_diff_exactly() {
        let removed = vec!["ab/cd/abcd".to_owned(), "fo/ob/foobar".to_owned()];
        let file = "tuf/5.targets.json";
        assert!(
            check_removals(5, &removed, &targets(&[("ab/cd/abcd", 5), ("fo/ob/foobar", 5)]), true, true, file)
                .is_empty()
        );
        let found = check_removals(5, &removed, &targets(&[("ab/cd/abcd", 5), ("1/x", 4)]), true, true, file);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(matches!(&found[0], Finding::RemovedWithoutRecord { krate, snapshot: 5, .. } if krate == "foobar"));
        assert!(matches!(&found[1], Finding::StrayRemovalRecord { record_snapshot: 4, .. }));
        let unsigned = check_removals(5, &removed[..1], &targets(&[("ab/cd/abcd", 5)]), true, false, file);
        assert!(
            matches!(&unsigned[0], Finding::RemovedWithoutRecord { reason, .. } if reason.contains("not signed")),
            "{unsigned:?}"
        );
        let missing = check_removals(5, &[], &targets(&[]), false, true, file);
        assert!(matches!(&missing[..], [Finding::BadMetadata { .. }]));
    }
}
